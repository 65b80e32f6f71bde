"""Enrichment of new work: per-field confidence from token probabilities, quarantine, redaction before the model,
the model version on every row, formula escaping; tickets through the registry and the CLI, changes with tier,
score and justification, and the ``enriched_tickets`` asset."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from riskft_pipeline import enrich, paths
from riskft_pipeline.core.tickets.prompts import FIELDS, render_answer
from riskft_pipeline_tests.ops import helpers

ANSWER = {"type": "Incident", "category": "SOFTWARE", "subcategory": "ERROR", "assignment_group": None,
          "software_system": "Outlook", "issue_request": "Outlook crashes"}


# --- confidence: pure ------------------------------------------------------------------------------------------


def test_value_spans_locate_each_json_value():
    text = 'Sure: {"type":"Incident","category":null,"software_system":"Zoom"} trailing'
    spans = enrich.value_spans(text, ("type", "category", "software_system", "subcategory"))
    assert {k: text[a:b] for k, (a, b) in spans.items()} == {"type": '"Incident"', "category": "null",
                                                               "software_system": '"Zoom"'}
    assert enrich.value_spans("no json here", FIELDS) == {}


def test_field_confidence_is_the_product_over_the_value_tokens():
    pieces = ['{"type":', '"Inc', 'ident', '","category":', '"SOFT', 'WARE"}']
    probs = [0.99, 0.5, 0.8, 0.97, 0.25, 0.6]
    text, ends = "", []
    for piece in pieces:
        text += piece
        ends.append(len(text))
    conf = enrich.field_confidences(text, ends, probs, ("type", "category", "subcategory"))
    assert conf["type"] == pytest.approx(0.5 * 0.8 * 0.97)  # '"Inc' + 'ident' + the token closing the string
    assert conf["category"] == pytest.approx(0.25 * 0.6)
    assert conf["subcategory"] is None


def test_token_alignment_with_the_real_tokenizer(session_home):
    from riskft_pipeline.core.config import BaseModelConfig
    from riskft_pipeline.training.base_model import load_tokenizer, resolve_base

    tokenizer = load_tokenizer(resolve_base(BaseModelConfig()).path)
    text = render_answer(ANSWER)
    ids = tokenizer.encode(text, add_special_tokens=False)
    ends = enrich.token_ends(tokenizer, ids)
    assert ends[-1] == len(text) and ends == sorted(ends)
    certain = enrich.field_confidences(text, ends, [1.0] * len(ids), FIELDS)
    assert certain == dict.fromkeys(FIELDS, 1.0)
    halves = enrich.field_confidences(text, ends, [0.5] * len(ids), FIELDS)
    assert all(0 < halves[f] <= 0.5 for f in FIELDS)
    assert halves["issue_request"] < halves["type"], "a longer value spans more tokens"


# --- input checks: pure ----------------------------------------------------------------------------------------


def new_tickets(path: Path) -> Path:
    rows = [
        {"number": "INC9000001", "short_description": "Outlook keeps crashing",
         "content": "Since the update Outlook crashes on start. Mail me at anna.smith@example.com"},
        {"number": "INC9000002", "short_description": "=HYPERLINK(\"http://x\")", "content": "Excel shows #REF"},
        {"number": "INC9000003", "short_description": "", "content": "   "},
        {"number": "INC9000004", "short_description": "VPN does not connect",
         "content": "The VPN client fails with error 809 since this morning."},
    ]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_tickets_without_text_are_quarantined(tmp_path):
    from riskft_pipeline.core.tickets.io import read_ticket_csv

    good, quarantine = enrich.split_tickets(read_ticket_csv(new_tickets(tmp_path / "t.csv"), require_labels=False))
    assert list(good["number"]) == ["INC9000001", "INC9000002", "INC9000004"]
    assert list(quarantine["reason"]) == ["missing text"]


def new_changes(path: Path, n: int = 3) -> Path:
    df = pd.read_csv(paths.embedded_data_dir() / "changes.csv", dtype=str).iloc[-n - 1:].drop(columns=["bug"])
    df.iloc[1, df.columns.get_loc("la")] = "-3"
    df.to_csv(path, index=False)
    return path


def test_changes_need_no_label_and_bad_metrics_are_quarantined(tmp_path):
    good, typed, quarantine = enrich.split_changes(new_changes(tmp_path / "c.csv"))
    assert len(good) == 3 and list(good["_id"]) == list(typed["_id"])
    assert list(quarantine["reason"]) == ["negative_metric"]
    assert "bug" not in good.columns


def test_changes_are_read_by_the_core_reader_ragged_lines_and_latin1_included(tmp_path):
    """One reader for change files (R1): enrichment used its own, which refused a whole file for one ragged line or
    one Latin-1 byte."""
    path = new_changes(tmp_path / "c.csv")
    text = path.read_text(encoding="utf-8").replace("\n", ",extra,cells\n", 2)  # the header and the first row
    lines = text.splitlines(keepends=True)
    lines[0] = lines[0].replace(",extra,cells", "")
    path.write_bytes("".join(lines).replace("Support", "Support café", 1).encode("latin-1"))
    good, typed, quarantine = enrich.split_changes(path)
    assert len(good) == 2 and list(good["_id"]) == list(typed["_id"])
    assert "Support café db for network v2" in set(good["message"])
    assert sorted(quarantine["reason"]) == ["malformed_row", "negative_metric"]
    assert "_malformed_row" not in good.columns and "_malformed_row" not in quarantine.columns


def test_enriched_csv_keeps_line_breaks_in_cells_and_quotes_only_when_needed(tmp_path):
    """A bare CR in a text cell stays inside its row when the enriched file is read back (I1); plain cells are not
    quoted; the quarantine file exists only when something was quarantined (a stale one is removed)."""
    from types import SimpleNamespace

    src = tmp_path / "in.csv"
    src.write_text("x\n", encoding="utf-8")
    loaded = SimpleNamespace(provenance=lambda: {"model_name": "m", "model_version": "1", "model_uri": "u"})
    out = pd.DataFrame({"number": ["A", "B"], "short_description": ["line\rbroken", "=1+1"], "risk_score": [0.5, 1]})
    quarantine = pd.DataFrame({"number": ["C"], "content": ["bare\rcr, more"], "reason": ["missing text"]})
    summary = enrich._write_outputs(out, quarantine, src, tmp_path / "out.csv", 3, loaded, 0.0)
    back = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    assert back["short_description"].tolist() == ["line\rbroken", "'=1+1"]
    q_path = enrich.quarantine_path(tmp_path / "out.csv")
    assert summary["quarantine"] == str(q_path)
    assert pd.read_csv(q_path, dtype=str)["content"].tolist() == ["bare\rcr, more"]
    raw = (tmp_path / "out.csv").read_bytes().decode("utf-8")
    assert raw.startswith("number,short_description,risk_score\r\nA,") and '"line\rbroken"' in raw

    summary = enrich._write_outputs(out.head(2), quarantine.head(0), src, tmp_path / "out.csv", 2, loaded, 0.0)
    assert summary["quarantine"] is None and summary["rows_quarantined"] == 0 and not q_path.exists()


# --- with a model --------------------------------------------------------------------------------------------------



def _ticket_predictor(train_jsonl: Path) -> dict:
    """A shipped ticket predictor for the adapter: the training labels (as the evaluation derives them), equal
    weights, and review thresholds that make ``subcategory`` always need review and no other field ever."""
    from riskft_pipeline.core.tickets.prompts import CATEGORICAL_FIELDS
    from riskft_pipeline.training.evaluate import fit_tabular
    from riskft_pipeline.training.sft import read_split

    labels = fit_tabular(read_split(train_jsonl), {}, 0)
    return {"kind": "ticket-fusion",
            "fields": {f: {"labels": labels[f][0], "weight": 0.5,
                           "review": {"threshold": None if f == "subcategory" else 0.0}} for f in CATEGORICAL_FIELDS}}


@pytest.mark.slow
def test_enrich_tickets_cli_with_the_champion(ddp_run, mlflow_uri, tmp_path, one_thread, monkeypatch):
    """`riskft enrich tickets` on the registered champion (the shipped predictor: adapter + TF-IDF/LR): fields,
    fused confidences, review flags, version on every row, redaction before the model, quarantine beside the output,
    formula cells escaped."""
    from riskft_pipeline.core.files import sha256_file
    from riskft_pipeline.core.tickets.prompts import CATEGORICAL_FIELDS
    from riskft_pipeline.training import choose

    adapter = ddp_run["out"] / "adapter"
    assert adapter.is_dir(), ddp_run["stderr"][-2000:]
    train = ddp_run["data"] / "train.jsonl"
    predictor = _ticket_predictor(train)
    reg = helpers.register(adapter, helpers.tickets_recipe(), ddp_run["data"],
                           report_extra={"shipped": "fused", "predictor": predictor,
                                         "data": {"train": sha256_file(train)}})
    assert reg["promoted"]

    prompts: list[str] = []
    real = choose.choose_answers
    monkeypatch.setattr(choose, "choose_answers",
                        lambda model, tok, messages, labels, **kw: prompts.extend(m[-1]["content"] for m in messages)
                        or real(model, tok, messages, labels, **kw))
    from riskft_pipeline.cli import enrich as enrich_cli

    parser = argparse.ArgumentParser()
    enrich_cli.add_parser(parser.add_subparsers(dest="command"))
    out = tmp_path / "enriched.csv"
    args = parser.parse_args(["enrich", "tickets", "--input", str(new_tickets(tmp_path / "new.csv")),
                              "--out", str(out), "--quiet", "--batch-size", "4"])
    assert args.model == "models:/ticket-extractor@champion"
    assert args.func(args) == 0

    assert len(prompts) == 3 and not any("anna.smith@example.com" in p for p in prompts)
    assert any("<EMAIL>" in p for p in prompts), "redacted exactly as at training time"

    df = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(df["number"]) == ["INC9000001", "INC9000002", "INC9000004"]
    assert set(df["model_uri"]) == {f"models:/ticket-extractor/{reg['version']}"}
    assert set(df["model_version"]) == {reg["version"]}
    assert df.loc[1, "short_description"].startswith("'="), "formula cells are escaped"
    assert list(df.columns) == ["number", "short_description", "content",  # the input's columns, none added
                                *(f"pred_{f}" for f in FIELDS), *(f"conf_{f}" for f in FIELDS), "valid_json",
                                "needs_review", "review_fields", "model_name", "model_version", "model_uri"]
    assert set(df["valid_json"]) == {"True"}, "the answer JSON is assembled by code"
    for f in CATEGORICAL_FIELDS:
        labels = {"" if v is None else v for v in predictor["fields"][f]["labels"]}
        assert set(df[f"pred_{f}"]) <= labels, f"{f}: chosen among the training labels"
        conf = df[f"conf_{f}"].astype(float)
        assert conf.between(0.0, 1.0).all() and (conf.round(4) == conf).all(), "fused probability, 4 decimals"
    assert set(df["needs_review"]) == {"True"} and set(df["review_fields"]) == {"subcategory"}
    quarantine = pd.read_csv(tmp_path / "enriched.quarantine.csv", dtype=str)
    assert list(quarantine["number"]) == ["INC9000003"] and list(quarantine["reason"]) == ["missing text"]


@pytest.mark.slow
def test_enrich_changes_with_tier_score_and_justification(mlflow_uri, tmp_path, one_thread):
    from riskft_pipeline.core.risk.examples import prepare_risk

    data = tmp_path / "risk_data"
    prepare_risk(paths.embedded_data_dir() / "changes.csv", data)
    from riskft_pipeline.core.risk.baselines import fit_logreg, logreg_scores
    from riskft_pipeline.core.risk.zones import fit_zones

    recipe = helpers.risk_recipe()
    # the shipped predictor: adapter score and logistic regression, fused (here the sigmoid of half and half of the
    # raw scores); cut
    # points below every possible fused score: a model that honours its registered predictor's tier_cuts says
    # "high" for every change, which the most probable tier of a barely trained adapter never would
    clean = pd.read_parquet(data / "clean.parquet")
    cuts = {"low_below": -1.0, "high_from": -0.5, "rule": "test"}
    predictor = {"kind": "risk-fusion", "tabular": fit_logreg(clean[clean["split"] == "train"]),
                 "fusion": {"weight": 0.5, "mean_model": 0.0, "sd_model": 1.0, "mean_tab": 0.0, "sd_tab": 1.0,
                            "val_auc": 0.5}, "tier_cuts": cuts, "zones": fit_zones(np.linspace(0.0, 1.0, 101))}
    reg = helpers.register(helpers.lora_adapter(tmp_path / "risk_adapter", recipe), recipe, data,
                           report_extra={"tier_cuts": cuts, "shipped": "fused", "predictor": predictor})

    out = tmp_path / "changes.enriched.csv"
    summary = enrich.enrich_changes_file(new_changes(tmp_path / "new.csv"), out, progress=False)
    assert (summary["rows_in"], summary["rows_enriched"], summary["rows_quarantined"]) == (4, 3, 1)
    df = pd.read_csv(out)
    assert set(df["risk_tier"]) == {"high"}, "the tier is the fused score's band under the predictor's cut points"
    assert ((df[["p_low", "p_medium", "p_high"]].sum(axis=1) - 1).abs() < 2e-4).all()  # 4 decimals each
    assert (df["adapter_score"] - (df["p_high"] + 0.5 * df["p_medium"])).abs().max() < 2e-4  # 4 decimals each
    _, typed, _ = enrich.split_changes(tmp_path / "new.csv")
    fused = 1 / (1 + np.exp(-(0.5 * df["adapter_score"] + 0.5 * logreg_scores(predictor["tabular"], typed))))
    assert (df["risk_score"] - fused).abs().max() < 2e-4, "risk_score is the shipped (fused) score (4 decimals)"
    assert set(df["justification_source"]) <= {"model", "rule"} and df["justification_faithful"].all(), (
        "the shipped justification is the model's when faithful, else the rule's: always faithful")
    from riskft_pipeline.core.risk.zones import zone_of

    assert df["risk_percentile"].between(0, 100).all()
    assert df["risk_zone"].tolist() == zone_of(df["risk_score"], predictor["zones"]), "zones cut by the predictor"
    assert (df[["p_low", "p_medium", "p_high", "risk_score"]].round(4) == df[["p_low", "p_medium", "p_high",
                                                                            "risk_score"]]).all().all()
    assert set(df["model_uri"]) == {f"models:/change-risk/{reg['version']}"}
    assert pd.read_csv(tmp_path / "changes.enriched.quarantine.csv")["reason"].tolist() == ["negative_metric"]
    report = Path(summary["summary_md"])
    assert report == tmp_path / "changes.enriched.summary.md"
    text = report.read_text(encoding="utf-8")
    assert "**3** changes enriched, **1** quarantined (negative_metric: 1)." in text and "## The 3 riskiest" in text


@pytest.mark.slow
def test_enriched_tickets_asset_records_the_model_version(ddp_run, home, tmp_path, one_thread):
    from riskft_pipeline.core.tasks import TICKETS
    from riskft_pipeline.defs.enrich import enrich_asset
    from riskft_pipeline.defs.resources import MLflowTracking

    folder = paths.incoming_dir() / "enrich"
    folder.mkdir(parents=True)
    new_tickets(folder / "tickets_today.csv")
    adapter = ddp_run["out"] / "adapter"
    with dg.instance_for_test() as instance:
        result = dg.materialize([enrich_asset(TICKETS)], instance=instance, resources={"mlflow": MLflowTracking()},
                                run_config={"ops": {"enriched_tickets": {"config": {"model": str(adapter)}}}})
    assert result.success
    [mat] = result.get_asset_materialization_events()
    md = mat.materialization.metadata
    assert md["model_uri"].value == f"local:{adapter}" and md["rows_enriched"].value == 3
    out = Path(md["folder"].value) / "tickets_today.enriched.csv"
    assert result.run_id in str(out)
    df = pd.read_csv(out, dtype=str)
    assert set(df["model_version"]) == {md["model_version"].value}
    assert json.loads(json.dumps(md["files"].value)).count("tickets_today.csv") == 1
