"""CSV in and out. Reading: a CSV export robustly, or refused with one readable line: the part every reader shares
(tickets, changes, incidents). Writing: spreadsheet formula escaping (:data:`FORMULA_START`, one rule for every CSV the
project writes) and quarantine files.

File-level problems (missing, empty, binary, undecodable under a byte-order mark) raise :class:`InputError`;
row-level problems never abort: lines with too many or too few fields (including a last line cut inside a quoted
field) come back in :attr:`CsvRead.bad_lines`, and each reader quarantines them under its own reason, so every raw
row is accounted for.

Encodings: UTF-16 when the file starts with its BOM; UTF-8 (with or without BOM) when the whole file decodes;
otherwise Latin-1, which decodes anything, with a warning.

Parsing: Arrow's C++ CSV reader (several times faster than pandas' on a million rows), every column read as text
(no type inference: ``007`` stays ``007``, ``NaN`` stays ``NaN``); pandas' parsers only when Arrow refuses a file
(duplicate column names, an encoding it cannot transcode).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pv

from riskft_pipeline.core.errors import InputError

_SNIFF_BYTES = 64 * 1024
_ALTERNATIVE_DELIMITERS = (";", "\t", "|")
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


@dataclass
class CsvRead:
    """A parsed file: every cell a string ('' where empty), header names stripped, plus what the reader had to work
    around."""

    df: pd.DataFrame
    encoding: str
    warnings: list[str] = field(default_factory=list)
    # Lines the CSV parser could not fit to the header (ragged rows), split into fields.
    bad_lines: list[list[str]] = field(default_factory=list)

    @property
    def raw_rows(self) -> int:
        return len(self.df) + len(self.bad_lines)


def read_csv_text(path: str | Path, *, what: str = "CSV file", sep: str | None = None,
                  key_column: str | None = None) -> CsvRead:
    """Parse ``path`` with every cell as text; raise :class:`InputError` when the file is unusable as a whole.

    ``what`` names the file in the "not found" message. ``sep=None`` detects the delimiter: comma unless the header
    has no comma, names ``key_column`` and clearly uses ``;``, tab or ``|``.
    """
    path = Path(path)
    head = _read_head(path, what)
    encoding, warnings = _detect_encoding(path, head)
    text_head = head.decode(encoding, errors="replace")
    if sep is None:
        sep = _detect_delimiter(text_head, key_column, warnings)
    _warn_duplicate_columns(text_head, sep, warnings)
    df, bad_lines = _parse(path, encoding, sep, text_head)
    return CsvRead(df=df, encoding=encoding, warnings=warnings, bad_lines=bad_lines)


def bad_rows_frame(lines: list[list[str]], columns: list[str]) -> pd.DataFrame:
    """Ragged lines mapped onto the header: extra fields joined into the last column, missing ones ''."""
    rows = []
    for fields in lines:
        row = list(fields[: len(columns)])
        if len(fields) > len(columns):
            row[-1] = ",".join(fields[len(columns) - 1 :])
        rows.append(row + [""] * (len(columns) - len(row)))
    return pd.DataFrame(rows, columns=columns, dtype=str)


def with_bad_rows(read: CsvRead, marker: str) -> pd.DataFrame:
    """The parsed rows, then the ragged ones (mapped onto the header) with ``marker`` set to ``"1"`` on those: one
    frame that still holds every raw row, for readers whose callers take a single frame. No bad lines: ``read.df``
    as it is, without the marker column."""
    if not read.bad_lines:
        return read.df
    bad = bad_rows_frame(read.bad_lines, list(read.df.columns))
    return pd.concat([read.df.assign(**{marker: ""}), bad.assign(**{marker: "1"})], ignore_index=True)


def one_line(error: BaseException) -> str:
    return " ".join(str(error).split())[:200]


def _read_head(path: Path, what: str) -> bytes:
    """The first bytes of the file, after the checks that need no parsing (exists, non-empty, text)."""
    if not path.exists():
        raise InputError(f"{what} not found: {path}")
    if not path.is_file():
        raise InputError(f"not a file: {path}")
    with open(path, "rb") as f:
        head = f.read(_SNIFF_BYTES)
    # Excel's "Unicode text" export is UTF-16 with a BOM: its NUL bytes are text, so judge its decoded form.
    sniff = head.decode("utf-16", errors="ignore").encode() if head.startswith(_UTF16_BOMS) else head
    if not sniff.lstrip(b"\xef\xbb\xbf \t\r\n"):
        raise InputError(f"{path.name}: file is empty")
    if _looks_binary(sniff):
        raise InputError(f"{path.name}: not a CSV file (binary content)")
    return head


def _looks_binary(head: bytes) -> bool:
    """NUL bytes, or more than 1% control characters: no text export looks like that (zip, gzip, random bytes)."""
    if b"\x00" in head:
        return True
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 13))
    return controls > len(head) / 100


def _detect_encoding(path: Path, head: bytes) -> tuple[str, list[str]]:
    """UTF-16 when the file starts with its BOM; UTF-8 (with or without BOM) when the whole file decodes; otherwise
    Latin-1, which decodes anything."""
    if head.startswith(_UTF16_BOMS):
        return _check_decodes(path, "utf-16")
    encoding = "utf-8-sig" if head.startswith(b"\xef\xbb\xbf") else "utf-8"
    try:
        with open(path, encoding=encoding) as f:
            while f.read(1 << 24):
                pass
    except UnicodeDecodeError:
        return "latin-1", ["file is not valid UTF-8: read as Latin-1"]
    return encoding, []


def _check_decodes(path: Path, encoding: str) -> tuple[str, list[str]]:
    """A file whose BOM promises ``encoding`` must decode with it entirely; no fallback guess is safer."""
    try:
        with open(path, encoding=encoding) as f:
            while f.read(1 << 24):
                pass
    except UnicodeDecodeError as e:
        raise InputError(f"{path.name}: starts with a {encoding} byte-order mark but is not valid {encoding} "
                         f"({one_line(e)})") from None
    return encoding, []


def _detect_delimiter(head: str, key_column: str | None, warnings: list[str]) -> str:
    """Comma unless the header line clearly uses another delimiter (Excel exports in some locales use ';')."""
    header = head.splitlines()[0] if head else ""
    if "," in header or not key_column or key_column not in header:
        return ","
    counts = {d: header.count(d) for d in _ALTERNATIVE_DELIMITERS}
    best = max(counts, key=counts.get)
    if counts[best] == 0:
        return ","
    warnings.append(f"header uses {best!r} as delimiter, not ','")
    return best


def _warn_duplicate_columns(head: str, sep: str, warnings: list[str]) -> None:
    """A header that names a column twice: the parser keeps the first (pandas renames the rest ``name.1``)."""
    header = [c.strip() for c in next(csv.reader(io.StringIO(head, newline=""), delimiter=sep), [])]
    repeated = [c for c, n in Counter(header).items() if n > 1 and c]
    if repeated:
        warnings.append(f"columns named more than once, the first of each is used: {', '.join(repeated)}")


def _parse(path: Path, encoding: str, sep: str, head: str) -> tuple[pd.DataFrame, list[list[str]]]:
    """Arrow's multi-threaded C++ parser first (ragged lines handed back, not fatal); pandas if Arrow refuses."""
    parsed = _parse_arrow(path, encoding, sep, head)
    if parsed is not None:
        return parsed
    options = {"sep": sep, "encoding": encoding, "dtype": str, "keep_default_na": False, "na_filter": False}
    try:
        df = pd.read_csv(path, **options)
        return _tidy(df), []
    except pd.errors.EmptyDataError:
        raise InputError(f"{path.name}: file is empty") from None
    except pd.errors.ParserError:
        pass
    except (csv.Error, ValueError) as e:
        raise InputError(f"{path.name}: not a readable CSV file ({one_line(e)})") from None
    bad: list[list[str]] = []
    try:
        df = pd.read_csv(path, engine="python", on_bad_lines=lambda line: bad.append(line), **options)
    except (pd.errors.ParserError, csv.Error, ValueError) as e:
        raise InputError(f"{path.name}: not a readable CSV file ({one_line(e)})") from None
    return _tidy(df), bad


def _parse_arrow(path: Path, encoding: str, sep: str, head: str) -> tuple[pd.DataFrame, list[list[str]]] | None:
    """Every column as text (no type inference: "007" stays "007"); None when Arrow cannot take this file."""
    header = next(csv.reader(io.StringIO(head, newline=""), delimiter=sep), [])  # newline="": CR-only files
    if not header or len(set(header)) != len(header):
        return None  # duplicate column names: let pandas disambiguate them
    bad_lines: list[str] = []

    def keep_bad_line(row) -> str:
        bad_lines.append(row.text)
        return "skip"

    try:
        table = pv.read_csv(
            path,
            read_options=pv.ReadOptions(encoding="utf8" if encoding.startswith("utf-8") else encoding),
            parse_options=pv.ParseOptions(
                delimiter=sep, newlines_in_values=True, invalid_row_handler=keep_bad_line
            ),
            convert_options=pv.ConvertOptions(
                column_types={name: pa.string() for name in header}, strings_can_be_null=False, null_values=[]
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeDecodeError, LookupError):
        return None
    if table.column_names != header or not all(pa.types.is_string(t) for t in table.schema.types):
        return None
    fields = [next(csv.reader(io.StringIO(line, newline=""), delimiter=sep), []) for line in bad_lines]
    return _tidy(table.to_pandas()), fields


def _tidy(df: pd.DataFrame) -> pd.DataFrame:
    """Header names stripped; short rows' missing cells as '' so every cell is a string."""
    df.columns = [str(c).strip() for c in df.columns]
    return df.fillna("").astype(str)


# --- writing: spreadsheet formula escaping ---------------------------------------------------------------------------

FORMULA_START = "^(?:[=+\\-@\t\r]|[ \t\r\n\f\v]+[=+\\-@])"  # explicit class, not \\s: keeps pandas on Arrow
"""A spreadsheet treats a cell starting with one of these as a formula (CSV injection): such cells get a leading
apostrophe. The one rule for every CSV the project writes (mined change files use it too)."""


def escape_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Prefix an apostrophe to every cell a spreadsheet would run as a formula (= + - @, tab, CR), header included
    (a raw export's column names are untrusted text too). One way: for files nobody reads back as data."""
    out = df.copy()
    for col in out.columns:
        values = out[col].fillna("").astype("str")
        risky = values.str.contains(FORMULA_START, regex=True)
        if risky.any():
            out[col] = values.mask(risky, "'" + values)
    names = pd.Series([str(c) for c in out.columns], dtype=object)
    out.columns = names.mask(names.str.contains(FORMULA_START, regex=True), "'" + names).tolist()
    return out


def write_quarantine_csv(quarantine: pd.DataFrame, path: str | Path) -> None:
    """The original rows plus their reason, formula cells escaped. Holds raw PII: it stays in the home folder.

    Every cell is quoted: Python's csv leaves a cell with a bare CR unquoted under ``QUOTE_MINIMAL`` (the line
    terminator is LF), which would split that raw row in two when the file is read back.
    """
    escape_formulas(quarantine).to_csv(path, index=False, lineterminator="\n", quoting=csv.QUOTE_ALL)


def escape_formulas_reversibly(df: pd.DataFrame) -> pd.DataFrame:
    """:func:`escape_formulas` for files the project reads back as data (the incoming history), with two differences:
    a plain number (``-3``, ``-86400``: a spreadsheet shows it as a number, it runs nothing) and a typed numeric column
    are left alone, so negative values stay numbers; and a cell that already starts with apostrophes before a formula
    gets one more, so :func:`unescape_formulas` can take exactly one off and give back the original cell."""
    out = df.copy()
    for i, col in enumerate(df.columns):
        if pd.api.types.is_numeric_dtype(df[col]) and not pd.api.types.is_bool_dtype(df[col]):
            continue  # typed numbers are written as numbers
        values = df.iloc[:, i].fillna("").astype(str)
        escape = _formula_like(values.str.lstrip("'"))
        out.isetitem(i, values.mask(escape, "'" + values))
    names = pd.Series([str(c) for c in df.columns], dtype=object)
    out.columns = names.mask(_formula_like(names.str.lstrip("'")), "'" + names).tolist()
    return out


def unescape_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """The inverse of :func:`escape_formulas_reversibly` (cells and header)."""
    out = df.copy()
    for i in range(df.shape[1]):
        values = df.iloc[:, i].astype(str)
        escaped = values.str.startswith("'") & _formula_like(values.str.lstrip("'"))
        if escaped.any():
            out.isetitem(i, values.mask(escaped, values.str[1:]))
    names = pd.Series([str(c) for c in df.columns], dtype=object)
    escaped = names.str.startswith("'") & _formula_like(names.str.lstrip("'"))
    out.columns = names.mask(escaped, names.str[1:]).tolist()
    return out


def _formula_like(values: pd.Series) -> pd.Series:
    """Cells :func:`escape_formulas` would escape, except plain numbers."""
    text = values.astype(str).reset_index(drop=True)
    risky = escape_formulas(text.to_frame("cell"))["cell"] != text
    if risky.any():
        risky[risky] = ~text[risky].map(_is_number).astype(bool)
    return pd.Series(risky.to_numpy(dtype=bool), index=values.index)


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True
