"""``riskft enrich tickets|changes``: one subcommand per task's enrichment kind (:mod:`riskft_pipeline.enrich`)."""

from __future__ import annotations

import argparse
import json
import sys

from riskft_pipeline.core.tasks import TASKS, by_enrich_kind

#: the task spec's ``enrich_options`` as CLI flags: option -> (flag, help, value from the parsed arguments)
OPTION_FLAGS = {"justify": ("--no-justify", "tier and score only (no text generation)", lambda a: not a.no_justify)}


def cmd_enrich(args: argparse.Namespace) -> int:
    spec = by_enrich_kind(args.enrich_command)
    options = {name: OPTION_FLAGS[name][2](args) for name in spec.enrich_options}
    summary = spec.enrich(args.input, args.out, model=args.model, batch_size=args.batch_size,
                          progress=not args.quiet, **options)
    print(json.dumps(summary, indent=2, default=str))
    if summary.get("summary_md"):
        print(f"[riskft] batch summary: {summary['summary_md']}", file=sys.stderr)
    return 0


def add_parser(sub) -> None:
    e = sub.add_parser("enrich", help="add model predictions to new tickets or changes (CSV in, CSV out)")
    esub = e.add_subparsers(dest="enrich_command", required=True)
    for spec in TASKS.values():
        required, optional = spec.enrich_columns()
        s = esub.add_parser(spec.enrich_kind, help=spec.enrich_help, description=(
            f"{spec.enrich_help[0].upper()}{spec.enrich_help[1:]}. Input columns required: {', '.join(required)}"
            + (f"; used when present: {', '.join(optional)}" if optional else "")
            + ". Every input column is kept; the predictions are added after them (docs/operations.md)."))
        s.add_argument("--input", required=True, help="CSV to enrich")
        s.add_argument("--out", required=True, help="enriched CSV (bad rows go to <out>.quarantine.csv; for changes "
                                                    "a markdown summary of the batch goes to <out>.summary.md)")
        s.add_argument("--model", default=spec.champion_uri,
                       help=f"models:/NAME@ALIAS, models:/NAME/VERSION or an adapter folder (default "
                            f"{spec.champion_uri})")
        s.add_argument("--batch-size", type=int, help="rows per generation batch (default: the recipe's eval batch)")
        s.add_argument("--quiet", action="store_true", help="no progress bar")
        for name in spec.enrich_options:
            flag, help_text, _ = OPTION_FLAGS[name]
            s.add_argument(flag, action="store_true", help=help_text)
        s.set_defaults(func=cmd_enrich)
