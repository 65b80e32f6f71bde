"""An audit of written files for personal data, independent of the redactor it audits.

Three detectors: an e-mail pattern, a phone pattern (formatted numbers only: bare digit runs are error codes), and
every full customer/agent name of the raw export in both orders ("Gregory Morgan", "Morgan, Gregory"). Single name
tokens are not searched on their own: surnames like Jenkins or Watson are also product names in the tickets. The
project's own detector (:meth:`Redactor.find_pii`, which also knows given names) runs on top.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from riskft_pipeline.core.tickets.redact import Redactor

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
PHONE = re.compile(
    r"(?<![\w.:/-])(?:\+[0-9]{1,3}[ .-]?(?:\([0-9]{1,4}\)[ .-]?)?[0-9]{2,5}(?:[ .-][0-9]{2,5}){1,4}"
    r"|\(?[0-9]{3}\)?[ .-][0-9]{3}[ .-][0-9]{4})(?![\w])"
)
TEXT_SUFFIXES = (".jsonl", ".json", ".csv", ".md", ".txt", ".log", ".yaml", ".yml")


def full_names(raw: pd.DataFrame, columns: tuple[str, ...] = ("customer", "agent")) -> set[str]:
    """Every person of the export, as "First Last" and "Last, First"."""
    names: set[str] = set()
    for col in columns:
        for value in raw.get(col, pd.Series(dtype=str)).dropna().astype(str):
            value = " ".join(value.split())
            if "," in value:
                last, first = (part.strip() for part in value.split(",", 1))
                if first and last:
                    names |= {f"{first} {last}", f"{last}, {first}"}
            elif " " in value:
                names.add(value)
    return names


def texts_of(path: Path) -> list[str]:
    """The human-readable content of an output file: every string cell of a parquet, the text of anything else."""
    if path.suffix == ".parquet":
        frame = pd.read_parquet(path)
        return [" | ".join(map(str, row)) for row in frame.astype(str).itertuples(index=False)] + list(frame.columns)
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".json":
        text = json.dumps(json.loads(text), ensure_ascii=False)  # unescape \\uXXXX so names are seen as written
    return text.splitlines()


def audit(folder: Path, raw: pd.DataFrame, *, allowed: tuple[str, ...] = ("quarantine.csv",)) -> list[str]:
    """``file: 'leak'`` for every e-mail, phone or known name found in ``folder`` outside the allowed files."""
    redactor = Redactor.from_frame(raw)
    names = full_names(raw)
    leaks: list[str] = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name not in allowed):
        if path.suffix not in (*TEXT_SUFFIXES, ".parquet"):
            continue
        lines = texts_of(path)
        text = "\n".join(lines)
        found = EMAIL.findall(text) + PHONE.findall(text) + _names_in(text, names)
        # The project's detector, vectorised: only lines its redaction would change are searched in detail.
        series = pd.Series(lines, dtype=object)
        redacted, _ = redactor.redact_series(series)
        for line in series[redacted.to_numpy(dtype=object) != series.to_numpy(dtype=object)]:
            found += redactor.find_pii(line)
        leaks += [f"{path.relative_to(folder)}: {hit!r}" for hit in dict.fromkeys(found)]
    return leaks


def _names_in(text: str, names: set[str]) -> list[str]:
    """Known names present as whole words (a substring test first: a regex of thousands of names is slow)."""
    lowered = text.lower()
    return [name for name in sorted(names) if name.lower() in lowered
            and re.search(r"\b" + re.escape(name) + r"\b", text, re.IGNORECASE)]
