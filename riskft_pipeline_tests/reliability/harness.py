"""Running the CLI the way an operator would, and the checks every accepted run must pass.

Hypothesis tests cannot use function-scoped fixtures (capsys, tmp_path) per example, so these are plain functions
over a folder the caller owns.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from riskft_pipeline.cli import main
from riskft_pipeline.core.tickets.prepare import OUTPUT_FILES
from riskft_pipeline_tests.reliability.corpus import formula_cells


@dataclass
class CliRun:
    rc: int
    stdout: str
    stderr: str

    def one_clear_line(self) -> bool:
        """What an operator gets on failure: exactly one line, prefixed ``riskft:``, no traceback."""
        lines = self.stderr.strip().splitlines()
        return len(lines) == 1 and lines[0].startswith("riskft: ") and "Traceback" not in self.stderr


def run_cli(argv: list[str]) -> CliRun:
    """``riskft ARGV`` in this process: exit code, stdout and stderr. A traceback escaping ``main`` fails the test."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(argv)
    return CliRun(rc, out.getvalue(), err.getvalue())


def run_cli_subprocess(argv: list[str], env: dict[str, str] | None = None, timeout: float = 120) -> CliRun:
    """``python -m riskft_pipeline.cli ARGV`` in a child process (what the console script runs)."""
    proc = subprocess.run([sys.executable, "-m", "riskft_pipeline.cli", *argv], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=timeout, check=False)
    return CliRun(proc.returncode, proc.stdout, proc.stderr)


def prepare_tickets(input_csv: Path, out_dir: Path) -> CliRun:
    return run_cli(["tickets", "prepare", "--input", str(input_csv), "--out", str(out_dir)])


def read_quarantine(path: Path) -> pd.DataFrame:
    csv.field_size_limit(1 << 30)
    return pd.read_csv(path, dtype=str, keep_default_na=False, engine="python")


def check_prepared(out_dir: Path) -> dict:
    """Everything an accepted ticket run promises: all files, nothing lost, files agree with the summary, and no
    cell of quarantine.csv a spreadsheet would run. Returns the summary."""
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(OUTPUT_FILES), "missing or stray output files"
    summary = json.loads((out_dir / "summary.json").read_text(encoding="utf-8"))
    raw, clean, quarantined = summary["raw_rows"], summary["clean_rows"], summary["quarantined_rows"]
    assert raw == clean + quarantined, summary
    assert sum(summary["quarantine_reasons"].values()) == quarantined
    assert len(pd.read_parquet(out_dir / "clean.parquet")) == clean
    assert sum(summary["splits"].values()) == clean
    for name, n in summary["splits"].items():
        assert len((out_dir / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()) == n
    quarantine_bytes = (out_dir / "quarantine.csv").read_bytes()
    assert len(read_quarantine(out_dir / "quarantine.csv")) == quarantined, "quarantine.csv does not read back"
    assert formula_cells(quarantine_bytes) == []
    return summary


def folder_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}
