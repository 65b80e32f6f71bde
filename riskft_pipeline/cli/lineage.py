"""``riskft lineage MODEL VERSION``: what made a registered model version, from the registry alone."""

from __future__ import annotations

import sys

from riskft_pipeline.cli.common import print_json
from riskft_pipeline.core.tasks import TICKETS


def cmd_lineage(args) -> int:
    from riskft_pipeline.tracking.lineage import format_lineage_text, get_lineage, verify_lineage

    lineage = get_lineage(args.model, args.version)
    verification = verify_lineage(lineage) if args.verify else None
    if args.format == "json":
        out = dict(lineage)
        if verification is not None:
            out["verification"] = verification
        print_json(out)
    else:
        print(format_lineage_text(lineage, verification))
    if verification and any(v["status"] == "mismatch" for v in verification):
        bad = ", ".join(v["path"] for v in verification if v["status"] == "mismatch")
        print(f"riskft: lineage verification failed: {bad}", file=sys.stderr)
        return 1
    return 0


def add_parser(sub) -> None:
    s = sub.add_parser("lineage", help="what made a registered model version, from the MLflow registry alone")
    s.add_argument("model", help=f"registered model name, e.g. {TICKETS.model_name}")
    s.add_argument("version", help="a version number or @alias, e.g. 3 or @champion")
    s.add_argument("--verify", action="store_true", help="re-hash recorded files; exit 1 on any mismatch")
    s.add_argument("--format", choices=["text", "json"], default="text", help="output format (default text)")
    s.set_defaults(func=cmd_lineage)
