"""The blocking checks on written splits, as plain functions over a prepared folder (the Dagster asset checks and
the tests call the same code): no text shared across splits, no PII left in any JSONL line."""

from __future__ import annotations

from pathlib import Path

from riskft_pipeline.core.files import iter_jsonl
from riskft_pipeline.core.tickets.io import read_ticket_csv
from riskft_pipeline.core.tickets.redact import Redactor, default_redactor
from riskft_pipeline.core.tickets.split import SPLITS, split_overlap


def _user_texts(path: Path) -> list[str]:
    return [turn["content"] for row in iter_jsonl(path) for turn in row["messages"] if turn["role"] == "user"]


def split_leakage(data_dir: str | Path) -> int:
    """Near-duplicate texts found in more than one of ``train/val/test.jsonl`` (0 means no leak)."""
    data_dir = Path(data_dir)
    return split_overlap({name: _user_texts(data_dir / f"{name}.jsonl") for name in SPLITS})


def pii_findings(data_dir: str | Path, *, raw_csv: str | Path | None = None, limit: int = 100) -> list[str]:
    """PII left in the user and assistant turns of the split files, as ``file:line: 'found'`` (empty: clean).

    Without ``raw_csv`` the audit knows the embedded given-name list; with it, also every customer/agent name of
    that export (pass the raw input to audit against the people who are actually in the data).
    """
    redactor = Redactor.from_frame(read_ticket_csv(raw_csv).df) if raw_csv else default_redactor()
    findings: list[str] = []
    for name in SPLITS:
        path = Path(data_dir) / f"{name}.jsonl"
        for line_no, row in enumerate(iter_jsonl(path), 1):
            for turn in row["messages"]:
                if turn["role"] == "system":
                    continue
                findings += [f"{path.name}:{line_no}: {hit!r}" for hit in redactor.find_pii(turn["content"])]
            if len(findings) >= limit:
                return findings[:limit]
    return findings
