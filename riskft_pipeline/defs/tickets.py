"""The ticket chain's data half: raw_tickets → clean_tickets → ticket_splits (and their checks). The model half
(ticket_adapter → ticket_eval_report → ticket_model_version) and the chain's job, schedule and enrichment come from
:func:`riskft_pipeline.defs.chain.build_chain`. Each asset loads, calls core, writes into a run-scoped folder and
reports."""


import json
from pathlib import Path

import dagster as dg
import pandas as pd
from pydantic import Field

from riskft_pipeline import workflows
from riskft_pipeline.core.files import sha256_file, write_json
from riskft_pipeline.core.tasks import TICKETS
from riskft_pipeline.defs.common import DataAssets, md_table, run_dir, user_errors
from riskft_pipeline.defs.values import CleanTable, RawFile, Splits

GROUP = TICKETS.name


class RawTicketsConfig(dg.Config):
    input_path: str = Field(default="", description="ticket CSV export; empty = the embedded data/tickets.csv")


@dg.asset(group_name=GROUP, code_version="1", description="The raw ticket export: parsed, hashed, never modified.")
def raw_tickets(context: dg.AssetExecutionContext, config: RawTicketsConfig) -> dg.Output[RawFile]:
    from riskft_pipeline.core.tickets.prepare import load_raw

    path = Path(config.input_path or workflows.default_input(TICKETS.name)).resolve()
    with user_errors():
        read = load_raw(path)
    sha = sha256_file(path)
    value = RawFile(path=str(path), sha256=sha, encoding=read.encoding, warnings=tuple(read.warnings))
    return dg.Output(value, data_version=dg.DataVersion(sha), metadata={
        "path": dg.MetadataValue.path(str(path)), "sha256": sha, "rows": len(read.df) + len(read.bad_rows),
        "columns": len(read.df.columns), "encoding": read.encoding, "warnings": "; ".join(read.warnings) or "none",
    })


@dg.asset(group_name=GROUP, code_version="1",
          description="Validated, normalised, PII-redacted tickets; bad rows quarantined with a reason.")
def clean_tickets(context: dg.AssetExecutionContext, raw_tickets: RawFile) -> dg.Output[CleanTable]:
    from riskft_pipeline.core.csvio import write_quarantine_csv
    from riskft_pipeline.core.tickets.prepare import clean, load_raw

    _same_file(raw_tickets)
    result = clean(load_raw(raw_tickets.path))
    out = run_dir(context, "clean_tickets")
    out.mkdir(parents=True, exist_ok=True)
    result.clean.to_parquet(out / "clean.parquet", index=False)
    write_quarantine_csv(result.quarantine, out / "quarantine.csv")
    write_json(out / "clean_summary.json", result.summary)
    s = result.summary
    value = CleanTable(dir=str(out), input_path=raw_tickets.path, input_sha256=raw_tickets.sha256, summary=s,
                       encoding=raw_tickets.encoding, warnings=raw_tickets.warnings)
    preview = result.clean.drop(columns=["date"], errors="ignore").head(5).to_dict("records")
    return dg.Output(value, data_version=dg.DataVersion(sha256_file(out / "clean.parquet")), metadata={
        "raw_rows": s["raw_rows"], "clean_rows": s["clean_rows"], "quarantined_rows": s["quarantined_rows"],
        "quarantine_reasons": md_table(s.get("quarantine_reasons", {}), ("reason", "rows")),
        "redactions": md_table(s.get("redactions", {}), ("kind", "count")),
        "preview": md_table(preview), "folder": dg.MetadataValue.path(str(out)),
    })


@dg.asset(group_name=GROUP, code_version="1",
          description="train/val/test chat JSONL: grouped so near-identical texts never cross splits.")
def ticket_splits(context: dg.AssetExecutionContext, clean_tickets: CleanTable) -> dg.Output[Splits]:
    from riskft_pipeline.core.tickets.clean import CleanResult
    from riskft_pipeline.core.tickets.prepare import build_examples, write_prepared
    from riskft_pipeline.core.tickets.split import assign_splits

    src = Path(clean_tickets.dir)
    result = CleanResult(pd.read_parquet(src / "clean.parquet"),
                         pd.read_csv(src / "quarantine.csv", dtype=str, keep_default_na=False),
                         json.loads((src / "clean_summary.json").read_text()))
    examples = build_examples(result.clean, assign_splits(result.clean))
    out = run_dir(context, "ticket_splits")
    summary = write_prepared(out, result, examples, clean_tickets.input_sha256,
                             {"encoding": clean_tickets.encoding, "warnings": list(clean_tickets.warnings)})
    combined = "".join(summary["split_sha256"][k] for k in sorted(summary["split_sha256"]))
    value = Splits(data_dir=str(out), input_path=clean_tickets.input_path, summary=summary,
                   data_version=combined[:64])
    return dg.Output(value, data_version=dg.DataVersion(combined[:64]), metadata={
        "splits": md_table(summary["splits"], ("split", "rows")),
        "train_rows": summary["splits"]["train"], "val_rows": summary["splits"]["val"],
        "test_rows": summary["splits"]["test"],
        "split_sha256": md_table(summary["split_sha256"], ("split", "sha256")),
        "category_distribution": md_table(summary["label_distribution"].get("category", {}), ("category", "rows")),
        "folder": dg.MetadataValue.path(str(out)),
    })


def _same_file(raw: RawFile) -> None:
    """The file must still be the one ``raw_tickets`` hashed; otherwise lineage would lie."""
    actual = sha256_file(raw.path)
    if actual != raw.sha256:
        raise dg.Failure(f"{raw.path} changed since raw_tickets was materialised "
                         f"(sha256 {raw.sha256[:12]}… → {actual[:12]}…): re-materialise raw_tickets")


# --- checks ------------------------------------------------------------------------------------------------------


@dg.asset_check(asset=clean_tickets, blocking=True, description="The clean table satisfies the pandera schema.")
def clean_tickets_schema(clean_tickets: CleanTable) -> dg.AssetCheckResult:
    from riskft_pipeline.core.tickets.schema import schema_errors

    errors = schema_errors(pd.read_parquet(Path(clean_tickets.dir) / "clean.parquet"))
    return dg.AssetCheckResult(passed=not errors, metadata={"errors": "\n".join(errors) or "none"})


@dg.asset_check(asset=clean_tickets, blocking=True, description="raw_rows == clean_rows + quarantined_rows")
def clean_tickets_nothing_lost(clean_tickets: CleanTable) -> dg.AssetCheckResult:
    s = clean_tickets.summary
    passed = s["raw_rows"] == s["clean_rows"] + s["quarantined_rows"]
    return dg.AssetCheckResult(passed=passed, metadata={k: s[k] for k in ("raw_rows", "clean_rows",
                                                                          "quarantined_rows")})


@dg.asset_check(asset=ticket_splits, blocking=True,
                description="No identical or near-identical ticket text appears in two splits.")
def ticket_splits_no_leakage(ticket_splits: Splits) -> dg.AssetCheckResult:
    from riskft_pipeline.core.tickets.checks import split_leakage

    leaks = split_leakage(Path(ticket_splits.data_dir))
    return dg.AssetCheckResult(passed=leaks == 0, metadata={"shared_texts": leaks})


@dg.asset_check(asset=ticket_splits, blocking=True, description="No e-mail, phone or known name left in the JSONL.")
def ticket_splits_no_pii(ticket_splits: Splits) -> dg.AssetCheckResult:
    from riskft_pipeline.core.tickets.checks import pii_findings

    findings = pii_findings(Path(ticket_splits.data_dir), raw_csv=ticket_splits.input_path)
    return dg.AssetCheckResult(passed=not findings, metadata={"findings": len(findings),
                                                              "examples": "\n".join(findings[:5]) or "none"})


data = DataAssets(assets=[raw_tickets, clean_tickets, ticket_splits],
                  checks=[clean_tickets_schema, clean_tickets_nothing_lost, ticket_splits_no_leakage,
                          ticket_splits_no_pii])
