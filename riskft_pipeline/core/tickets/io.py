"""Read a ServiceNow-like ticket export robustly, or refuse it with one readable line.

File-level problems (missing, empty, binary, header only, required columns missing) raise :class:`InputError`;
row-level problems never abort: lines with too many or too few fields (including a last line cut inside a quoted
field) come back in :attr:`ReadResult.bad_rows`, and the cleaner quarantines them with everything else, so every raw
row is accounted for.

Decoding and parsing are :mod:`riskft_pipeline.core.csvio`'s (shared with the change and incident readers): every
column read as text, UTF-8 or UTF-16 by BOM with a Latin-1 fallback, ragged lines handed back instead of failing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from riskft_pipeline.core.csvio import bad_rows_frame, read_csv_text
from riskft_pipeline.core.errors import InputError

ID_COLUMN = "number"
TEXT_COLUMNS: tuple[str, ...] = ("short_description", "content")
# Source label columns, in the order of prompts.FIELDS.
LABEL_COLUMNS: tuple[str, ...] = (
    "type",
    "category",
    "subcategory",
    "assignment_group",
    "software/system",
    "issue/request",
)
REQUIRED_LABELS: tuple[str, ...] = ("type", "category")
REQUIRED_COLUMNS: tuple[str, ...] = (ID_COLUMN, *TEXT_COLUMNS, *REQUIRED_LABELS)
# Present in real exports; absent ones are added as empty with a warning so downstream code sees one shape.
OPTIONAL_COLUMNS: tuple[str, ...] = (
    "subcategory",
    "assignment_group",
    "software/system",
    "issue/request",
    "date",
    "contact_type",
    "customer",
    "agent",
)
MALFORMED_REASON = "malformed row"


@dataclass
class ReadResult:
    """A parsed export: every cell a string ('' where empty), plus what the reader had to work around."""

    df: pd.DataFrame
    encoding: str
    warnings: list[str] = field(default_factory=list)
    # Lines the CSV parser could not fit to the header (ragged rows): original columns + `reason`.
    bad_rows: pd.DataFrame = field(default_factory=pd.DataFrame)
    # The file's own columns (``df`` adds the absent label/optional ones, empty): what an output keeps of the input.
    source_columns: list[str] = field(default_factory=list)

    @property
    def raw_rows(self) -> int:
        return len(self.df) + len(self.bad_rows)


def read_ticket_csv(path: str | Path, *, require_labels: bool = True) -> ReadResult:
    """Parse ``path`` as a ticket export; raise :class:`InputError` when the file is unusable as a whole.

    ``require_labels=False`` reads unlabelled exports (new tickets to enrich): only the id and text are required.
    """
    path = Path(path)
    read = read_csv_text(path, what="ticket file", key_column=ID_COLUMN)
    encoding, warnings = read.encoding, read.warnings
    df = _drop_index_columns(read.df)
    bad_rows = pd.DataFrame()
    if read.bad_lines:
        bad_rows = bad_rows_frame(read.bad_lines, list(read.df.columns))
        bad_rows["reason"] = MALFORMED_REASON
        bad_rows = _drop_index_columns(bad_rows)
    required = REQUIRED_COLUMNS if require_labels else (ID_COLUMN, *TEXT_COLUMNS)
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InputError(f"{path.name}: required columns missing: {', '.join(missing)}")
    if len(df) + len(bad_rows) == 0:
        raise InputError(f"{path.name}: no data rows (header only)")
    source_columns = list(df.columns)
    absent = [c for c in dict.fromkeys((*LABEL_COLUMNS, *OPTIONAL_COLUMNS)) if c not in df.columns]
    if absent:
        df = df.assign(**{c: "" for c in absent})
        warnings.append(f"columns absent, treated as empty: {', '.join(absent)}")
    if len(bad_rows):
        bad_rows = bad_rows.reindex(columns=[*df.columns, "reason"], fill_value="")
        warnings.append(f"{len(bad_rows)} malformed row(s) do not match the header: quarantined")
    return ReadResult(df=df, encoding=encoding, warnings=warnings, bad_rows=bad_rows, source_columns=source_columns)


def _drop_index_columns(df: pd.DataFrame) -> pd.DataFrame:
    """The unnamed first column some exports carry is a row index, not data."""
    index_cols = [c for c in df.columns if c == "" or c.startswith("Unnamed: ")]
    return df.drop(columns=index_cols)

