"""`riskft`: every step of both chains without Dagster, for scripts, CI and auditors.

Unusable input exits with code 2 and one readable line on stderr (``--debug`` for the traceback). Heavy libraries
(torch, transformers, mlflow, dagster) are imported inside the commands that need them, so ``riskft --help`` is fast.

One module per command group, each with ``add_parser(subparsers)``: :mod:`.home` (``init-home``), :mod:`.tickets`,
:mod:`.model` (``train``, ``evaluate``, ``register``), :mod:`.pipeline` (``run``, ``pipeline``), :mod:`.risk`,
:mod:`.lineage`, :mod:`.enrich`, :mod:`.publish`.
"""

from __future__ import annotations

import argparse
import os
import sys

from riskft_pipeline.cli import enrich, home, lineage, model, pipeline, publish, risk, tickets
from riskft_pipeline.cli.common import CliError

EXIT_USAGE = 2
GROUPS = (home, tickets, model, pipeline, risk, lineage, enrich, publish)  # in the order `riskft --help` lists them


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


def _one_line(message: str, limit: int = 1000) -> str:
    """The message as one printable line, whatever it quotes from the input: control characters (newlines, ESC
    sequences that could rewrite the terminal) are shown escaped, and a huge quote is cut."""
    text = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in message)
    return text if len(text) <= limit else text[:limit] + "..."


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="riskft", description=__doc__.splitlines()[0])
    p.add_argument("--debug", action="store_true", help="show tracebacks (accepted anywhere on the line)")
    sub = p.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.add_parser(sub)
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
