"""``riskft init-home``."""

from __future__ import annotations


def cmd_init_home(args) -> int:
    from riskft_pipeline.home import init_home

    print(init_home())
    return 0


def add_parser(sub) -> None:
    s = sub.add_parser("init-home", help="create .riskft/ (or $RISKFT_HOME) and the Dagster instance config")
    s.set_defaults(func=cmd_init_home)
