"""``riskft tickets prepare|generate``: ticket data."""

from __future__ import annotations

from riskft_pipeline.cli.common import print_json
from riskft_pipeline.core.tasks import TICKETS


def cmd_tickets_prepare(args) -> int:
    from riskft_pipeline import workflows
    from riskft_pipeline.core.config import load_recipe

    recipe = load_recipe(workflows.resolve_recipe(None, TICKETS.name))  # the same path as `riskft risk prepare`
    summary = workflows.prepare(TICKETS.name, args.input, args.out, recipe, val_fraction=args.val_fraction,
                                test_fraction=args.test_fraction, seed=args.seed)
    print_json({k: summary[k] for k in ("raw_rows", "clean_rows", "quarantined_rows", "quarantine_reasons",
                                         "splits", "redactions", "input_sha256") if k in summary})
    return 0


def cmd_tickets_generate(args) -> int:
    from riskft_pipeline.core.tickets.generate import generate_tickets, write_tickets_csv

    df = generate_tickets(args.rows, seed=args.seed)
    write_tickets_csv(df, args.out)
    print(f"wrote {len(df)} rows to {args.out}")
    return 0


def add_parser(sub) -> None:
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
