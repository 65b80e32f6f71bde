"""``riskft train|evaluate|register``: one adapter through the model half of a chain."""

from __future__ import annotations

from pathlib import Path

from riskft_pipeline.cli.common import print_json
from riskft_pipeline.core.adapter_files import ADAPTER_META
from riskft_pipeline.core.tasks import TICKETS


def cmd_train(args) -> int:
    from riskft_pipeline import workflows

    result = workflows.train(workflows.resolve_recipe(args.recipe, TICKETS.name), Path(args.data), Path(args.out),
                             track=not args.no_track)
    print_json(result)
    return 0


def adapter_folder(path: str) -> Path:
    """An adapter folder as given, or ``adapter/`` inside a run folder (what ``riskft train --out`` wrote)."""
    folder = Path(path)
    if not (folder / ADAPTER_META).is_file() and (folder / "adapter" / ADAPTER_META).is_file():
        return folder / "adapter"
    return folder


def cmd_evaluate(args) -> int:
    from riskft_pipeline import workflows

    recipe = workflows.resolve_recipe(args.recipe, TICKETS.name) if args.recipe else None
    report = workflows.evaluate(adapter_folder(args.adapter), Path(args.data), Path(args.out), recipe_path=recipe)
    print_json(report.get("primary_metric", report))
    return 0


def cmd_register(args) -> int:
    from riskft_pipeline import workflows

    result = workflows.register(adapter_folder(args.adapter), Path(args.report), run_id=args.run_id)
    print_json(result)
    return 0


def add_parser(sub) -> None:
    s = sub.add_parser("train", help="train a LoRA adapter from a recipe on prepared splits")
    s.add_argument("--recipe", help=f"recipe YAML (default configs/{TICKETS.default_recipe})")
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
