"""`riskft`: every step of both chains without Dagster, for scripts, CI and auditors.

Unusable input exits with code 2 and one readable line on stderr (``--debug`` for the traceback). Heavy libraries
(torch, transformers, mlflow, dagster) are imported inside the commands that need them, so ``riskft --help`` is fast.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from riskft_pipeline.core.adapter_files import ADAPTER_META

EXIT_USAGE = 2


class CliError(Exception):
    """A problem the user can fix; printed as one line, exit code 2."""


def _user_errors() -> tuple[type[BaseException], ...]:
    from riskft_pipeline.core.config import RecipeError
    from riskft_pipeline.core.errors import InputError

    # Path problems the user fixes (an output path under a file, no write permission) are not internal errors.
    errors: list[type[BaseException]] = [CliError, InputError, RecipeError, FileNotFoundError, FileExistsError,
                                          NotADirectoryError, IsADirectoryError, PermissionError]
    try:
        from riskft_pipeline.tracking.client import TrackingError

        errors.append(TrackingError)
    except ImportError:  # tracking extras missing: nothing to add
        pass
    try:
        from riskft_pipeline.training.base_model import BaseModelError

        errors.append(BaseModelError)
    except ImportError:
        pass
    return tuple(errors)


def _print_json(obj) -> None:
    print(json.dumps(obj, indent=2, ensure_ascii=False, default=str))


# --- commands --------------------------------------------------------------------------------------------------


def cmd_init_home(args) -> int:
    from riskft_pipeline.home import init_home

    print(init_home())
    return 0


def cmd_tickets_prepare(args) -> int:
    from riskft_pipeline.core.tickets.prepare import prepare

    summary = prepare(args.input, args.out, val_fraction=args.val_fraction, test_fraction=args.test_fraction,
                      seed=args.seed)
    _print_json({k: summary[k] for k in ("raw_rows", "clean_rows", "quarantined_rows", "quarantine_reasons",
                                          "splits", "redactions", "input_sha256") if k in summary})
    return 0


def cmd_tickets_generate(args) -> int:
    from riskft_pipeline.core.tickets.generate import generate_tickets, write_tickets_csv

    df = generate_tickets(args.rows, seed=args.seed)
    write_tickets_csv(df, args.out)
    print(f"wrote {len(df)} rows to {args.out}")
    return 0


def cmd_train(args) -> int:
    from riskft_pipeline import workflows

    result = workflows.train(workflows.resolve_recipe(args.recipe, "tickets"), Path(args.data), Path(args.out),
                             track=not args.no_track)
    _print_json(result)
    return 0


def _adapter_folder(path: str) -> Path:
    """An adapter folder as given, or ``adapter/`` inside a run folder (what ``riskft train --out`` wrote)."""
    folder = Path(path)
    if not (folder / ADAPTER_META).is_file() and (folder / "adapter" / ADAPTER_META).is_file():
        return folder / "adapter"
    return folder


def cmd_evaluate(args) -> int:
    from riskft_pipeline import workflows

    report = workflows.evaluate(_adapter_folder(args.adapter), Path(args.data), Path(args.out),
                                recipe_path=workflows.resolve_recipe(args.recipe, "tickets") if args.recipe else None)
    _print_json(report.get("primary_metric", report))
    return 0


def cmd_register(args) -> int:
    from riskft_pipeline import workflows

    result = workflows.register(_adapter_folder(args.adapter), Path(args.report), run_id=args.run_id)
    _print_json(result)
    return 0


def cmd_run(args) -> int:
    from riskft_pipeline import workflows

    result = workflows.run_chain(args.chain, input_path=args.input, recipe_path=args.recipe)
    _print_json(result)
    return 0


def cmd_pipeline(args) -> int:
    from riskft_pipeline.defs.runner import materialize_chain

    ok = materialize_chain(args.chain, input_path=args.input, recipe=args.recipe)
    return 0 if ok else 1


def cmd_risk_mine(args) -> int:
    from riskft_pipeline.core.risk.mining import mine_repository, write_changes_csv

    df = mine_repository(args.repo, incident_id_pattern=args.incident_pattern, since=args.since,
                         progress=not args.quiet)
    n = write_changes_csv(df, args.out)
    _print_json({"rows": n, "out": str(args.out), **df.attrs.get("mining", {})})
    return 0


def cmd_risk_label(args) -> int:
    from riskft_pipeline.core.risk.features import MALFORMED_COLUMN, read_changes_csv
    from riskft_pipeline.core.risk.labels import label_from_incidents, read_incidents_csv
    from riskft_pipeline.core.risk.mining import write_changes_csv

    changes = read_changes_csv(args.changes)
    incidents = read_incidents_csv(args.incidents, change_id_col=args.change_id_col)
    labelled, summary = label_from_incidents(changes, incidents, change_id_col=args.change_id_col,
                                             keep_szz=not args.incidents_only)
    write_changes_csv(labelled.drop(columns=[MALFORMED_COLUMN], errors="ignore"), args.out)
    _print_json(summary)
    return 0


def cmd_risk_prepare(args) -> int:
    from riskft_pipeline import workflows
    from riskft_pipeline.core.config import load_recipe

    recipe = load_recipe(workflows.resolve_recipe(args.recipe, "risk"))
    summary = workflows.prepare("risk", args.input, args.out, recipe)
    _print_json({k: summary[k] for k in ("raw_rows", "clean_rows", "quarantined_rows", "quarantine_reasons",
                                          "splits", "examples", "input_sha256") if k in summary})
    return 0


def cmd_risk_evaluate(args) -> int:
    from riskft_pipeline import workflows

    result = workflows.risk_study(args.input, workflows.resolve_recipe(args.recipe, "risk"), args.out,
                                  max_train_examples=args.max_train_examples, metrics_only=args.metrics_only,
                                  track=args.track,
                                  progress=not args.quiet)
    _print_json(result)
    return 0


def cmd_lineage(args) -> int:
    from riskft_pipeline.tracking.lineage import format_lineage_text, get_lineage, verify_lineage

    lineage = get_lineage(args.model, args.version)
    verification = verify_lineage(lineage) if args.verify else None
    if args.format == "json":
        out = dict(lineage)
        if verification is not None:
            out["verification"] = verification
        _print_json(out)
    else:
        print(format_lineage_text(lineage, verification))
    if verification and any(v["status"] == "mismatch" for v in verification):
        bad = ", ".join(v["path"] for v in verification if v["status"] == "mismatch")
        print(f"riskft: lineage verification failed: {bad}", file=sys.stderr)
        return 1
    return 0


def _one_line(message: str, limit: int = 1000) -> str:
    """The message as one printable line, whatever it quotes from the input: control characters (newlines, ESC
    sequences that could rewrite the terminal) are shown escaped, and a huge quote is cut."""
    text = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in message)
    return text if len(text) <= limit else text[:limit] + "..."


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="riskft", description=__doc__.splitlines()[0])
    p.add_argument("--debug", action="store_true", help="show tracebacks (accepted anywhere on the line)")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("init-home", help="create .riskft/ (or $RISKFT_HOME) and the Dagster instance config")
    s.set_defaults(func=cmd_init_home)

    t = sub.add_parser("tickets", help="ticket data: prepare splits, generate synthetic exports")
    tsub = t.add_subparsers(dest="tickets_command", required=True)
    s = tsub.add_parser("prepare", help="raw CSV -> clean.parquet, quarantine.csv, train/val/test.jsonl, summary.json")
    s.add_argument("--input", required=True, help="ticket export CSV (columns: docs/operations.md)")
    s.add_argument("--out", required=True, help="folder for the prepared files")
    s.add_argument("--val-fraction", type=float, default=0.1, help="share of tickets for validation (default 0.1)")
    s.add_argument("--test-fraction", type=float, default=0.1, help="share of tickets for test (default 0.1)")
    s.add_argument("--seed", type=int, default=13, help="split seed (default 13)")
    s.set_defaults(func=cmd_tickets_prepare)
    s = tsub.add_parser("generate", help="write a seeded synthetic ticket export")
    s.add_argument("--rows", type=int, default=1200, help="number of tickets (default 1200)")
    s.add_argument("--seed", type=int, default=7, help="generator seed (default 7)")
    s.add_argument("--out", required=True, help="CSV file to write")
    s.set_defaults(func=cmd_tickets_generate)

    s = sub.add_parser("train", help="train a LoRA adapter from a recipe on prepared splits")
    s.add_argument("--recipe", help="recipe YAML (default configs/tickets_cpu.yaml)")
    s.add_argument("--data", required=True, help="folder with train.jsonl and val.jsonl")
    s.add_argument("--out", required=True, help="run folder: adapter/, checkpoints/, run.json")
    s.add_argument("--no-track", action="store_true", help="do not log to MLflow")
    s.set_defaults(func=cmd_train)

    s = sub.add_parser("evaluate", help="evaluate an adapter on DATA/test.jsonl with baselines fitted on DATA/train.jsonl")
    s.add_argument("--adapter", required=True, help="adapter folder, or the run folder holding adapter/")
    s.add_argument("--data", required=True, help="prepared folder with train/val/test.jsonl")
    s.add_argument("--out", required=True, help="folder for report.json, report.md, predictor.json, plots")
    s.add_argument("--recipe", help="recipe whose eval section to use (default: the adapter's own)")
    s.set_defaults(func=cmd_evaluate)

    s = sub.add_parser("register", help="register an adapter + report in the MLflow registry (champion gate)")
    s.add_argument("--adapter", required=True, help="adapter folder, or the run folder holding adapter/")
    s.add_argument("--report", required=True, help="the evaluation's report.json")
    s.add_argument("--run-id", help="MLflow run to attach to (default: the run recorded next to the adapter)")
    s.set_defaults(func=cmd_register)

    s = sub.add_parser("run", help="a whole chain without Dagster: prepare -> train -> evaluate -> register")
    s.add_argument("chain", choices=["tickets", "risk"], help="which chain")
    s.add_argument("--input", help="input CSV (default: the embedded data)")
    s.add_argument("--recipe", help="recipe YAML or a name in configs/ (default: the chain's CPU recipe)")
    s.set_defaults(func=cmd_run)

    s = sub.add_parser("pipeline", help="materialise the Dagster assets of a chain in-process (what `make run` does)")
    s.add_argument("chain", choices=["tickets", "risk", "all"], nargs="?", default="all",
                   help="which chain (default: all)")
    s.add_argument("--input", help="input CSV (one chain only; default: the embedded data)")
    s.add_argument("--recipe", help="recipe YAML or a name in configs/ (one chain only)")
    s.set_defaults(func=cmd_pipeline)

    r = sub.add_parser("risk", help="change risk: mine a git repo, label from incidents, prepare, evaluate")
    rsub = r.add_subparsers(dest="risk_command", required=True)
    s = rsub.add_parser("mine", help="mine a local git repository into the 14 change metrics + SZZ labels")
    s.add_argument("--repo", required=True, help="path to a local git repository (bare or with a work tree)")
    s.add_argument("--out", required=True, help="changes CSV to write")
    s.add_argument("--since", help="only rows from this date (history metrics still use the whole history)")
    s.add_argument("--incident-pattern", help=r"regex of incident/issue ids that mark a fix, e.g. 'INC\d{7}'")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=cmd_risk_mine)
    s = rsub.add_parser("label", help="label changes from incidents that name the change that caused them")
    s.add_argument("--changes", required=True, help="changes CSV (e.g. from `riskft risk mine`)")
    s.add_argument("--incidents", required=True, help="incidents CSV naming the change that caused each")
    s.add_argument("--out", required=True, help="labelled changes CSV to write")
    s.add_argument("--change-id-col", default="caused_by_change",
                   help="incidents column holding the causing change id (default caused_by_change)")
    s.add_argument("--incidents-only", action="store_true", help="ignore SZZ labels already in the changes file")
    s.set_defaults(func=cmd_risk_label)

    s = rsub.add_parser("prepare", help="change-metrics CSV -> validated rows, quarantine, time-ordered chat splits")
    s.add_argument("--input", required=True, help="change-metrics CSV (_id, date, bug + the 14 metrics)")
    s.add_argument("--out", required=True, help="folder for the prepared files")
    s.add_argument("--recipe", help="recipe YAML (default configs/risk_cpu.yaml): tiers, balancing, example cap")
    s.set_defaults(func=cmd_risk_prepare)

    s = rsub.add_parser("study", aliases=["evaluate"],
                        help="split one CSV by time, train the recipe, report model vs baselines in OUT "
                             "(`evaluate` is the old name)")
    s.add_argument("--input", required=True, help="change-metrics CSV (e.g. an ISSTA'21 *_k_feature.csv)")
    s.add_argument("--out", required=True, help="folder for data/, train/, report.json, report.md, roc.png")
    s.add_argument("--recipe", help="recipe YAML (default configs/risk_cpu.yaml)")
    s.add_argument("--max-train-examples", type=int, help="override the recipe's training example cap")
    s.add_argument("--metrics-only", action="store_true",
                   help="leave commit message and diff summary out of the prompt (to compare with metrics + text)")
    s.add_argument("--track", action="store_true", help="also log the run to MLflow (not registered)")
    s.add_argument("--quiet", action="store_true", help="no progress bars")
    s.set_defaults(func=cmd_risk_evaluate)

    s = sub.add_parser("lineage", help="what made a registered model version, from the MLflow registry alone")
    s.add_argument("model", help="registered model name, e.g. ticket-extractor")
    s.add_argument("version", help="a version number or @alias, e.g. 3 or @champion")
    s.add_argument("--verify", action="store_true", help="re-hash recorded files; exit 1 on any mismatch")
    s.add_argument("--format", choices=["text", "json"], default="text", help="output format (default text)")
    s.set_defaults(func=cmd_lineage)

    from riskft_pipeline.enrich import add_enrich_parser

    add_enrich_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # MLflow 3 phones home on first run otherwise
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv  # accepted anywhere on the line, not only before the subcommand
    argv = [a for a in argv if a != "--debug"]
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("riskft: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # the boundary where errors become exit codes
        if debug:
            raise
        if isinstance(e, _user_errors()):
            print(f"riskft: error: {_one_line(str(e))}", file=sys.stderr)
            return EXIT_USAGE
        print(f"riskft: unexpected error: {type(e).__name__}: {_one_line(str(e))} (rerun with --debug for the "
              "traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
