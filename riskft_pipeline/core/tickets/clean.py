"""Raw export rows → clean, PII-free training rows, and a quarantine for everything else.

Row-level problems never abort the file. Each row gets at most one reason, the first that applies, in this order:

1. ``malformed row``: the CSV line did not fit the header (from the reader).
2. ``repeated header row``: a header line inside the data (two exports concatenated).
3. ``oversize field``: any cell longer than ``max_field_chars``.
4. ``missing ticket number``, ``personal data in ticket number`` (an e-mail, phone or name where the identifier
   belongs: the id is written to every output, and redacting it could make two ids collide), ``missing text``
   (subject and body both empty), ``missing label`` (``type`` or ``category`` empty: the other labels may be null
   in the answer), ``unparseable date`` (non-empty, not a date, or outside 1990–2099; an empty date is allowed).
5. ``duplicate row``: an exact copy of an earlier row; the first copy stays clean.
6. ``duplicate ticket number``: the same number with different content. All of them are quarantined, because
   nothing says which one is right, and keeping one would depend on row order.
7. ``duplicate text``: the same redacted text (case-insensitive) as an earlier clean row; the first stays.

Normalisation: labels are trimmed with inner whitespace collapsed and empty → None; ``category``,
``subcategory`` and ``assignment_group`` upper-case (like the source), ``type`` and ``contact_type`` capitalised,
the free-text labels keep their case. The model text is ``short_description`` + newline + ``content`` after NFKC
(full-width digits become ASCII, so redaction sees them) and whitespace folding, then PII-redacted; every label and
the contact type are redacted too, since they are the assistant's answer or written beside it (categorical values in
their source case, where names still have capitals, then normalised). No customer/agent/notes column is kept.

Invariant, checked every time: ``raw_rows == clean_rows + quarantined_rows``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from riskft_pipeline.core.tickets.io import ID_COLUMN, LABEL_COLUMNS, REQUIRED_LABELS
from riskft_pipeline.core.tickets.redact import KINDS, Redactor

CLEAN_COLUMNS: tuple[str, ...] = (
    "number",
    "type",
    "date",
    "contact_type",
    "text",
    "category",
    "subcategory",
    "assignment_group",
    "software_system",
    "issue_request",
)
# Source column -> clean column, and how its values are normalised.
_LABEL_TARGETS = dict(
    zip(
        LABEL_COLUMNS,
        ("type", "category", "subcategory", "assignment_group", "software_system", "issue_request"),
    )
)
_UPPER = ("category", "subcategory", "assignment_group")
_CAPITALISED = ("type", "contact_type")
_DATE_FORMATS = ("%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d")
_DATE_RANGE = (pd.Timestamp("1990-01-01"), pd.Timestamp("2100-01-01"))


@dataclass
class CleanResult:
    clean: pd.DataFrame
    quarantine: pd.DataFrame
    summary: dict = field(default_factory=dict)


def clean_tickets(
    raw: pd.DataFrame,
    *,
    max_field_chars: int = 20000,
    bad_rows: pd.DataFrame | None = None,
    redactor: Redactor | None = None,
) -> CleanResult:
    """Normalise, validate, deduplicate and redact ``raw``; every row ends up clean or quarantined with a reason.

    ``bad_rows`` are the reader's malformed lines (already carrying a reason); ``redactor`` defaults to one that
    knows every customer/agent name of ``raw``.
    """
    raw = raw.reset_index(drop=True)
    bad_rows = bad_rows if bad_rows is not None else pd.DataFrame()
    reason = np.full(len(raw), None, dtype=object)
    redactor = redactor or Redactor.from_frame(raw)
    fields = _normalised_fields(raw)
    _flag_row_problems(raw, fields, reason, max_field_chars, redactor)
    _flag_duplicates(raw, fields, reason)

    alive = reason == None  # element-wise on an object array
    counts = _redact(fields, raw, alive, redactor)
    text_key = fields["text"].str.lower()
    _flag(reason, alive & text_key.where(alive).duplicated(keep="first").to_numpy() & alive, "duplicate text")

    alive = reason == None
    clean = pd.DataFrame({c: fields[c][alive] for c in CLEAN_COLUMNS}).reset_index(drop=True)
    quarantine = _quarantine_frame(raw, reason, bad_rows)
    summary = _summary(len(raw) + len(bad_rows), clean, quarantine, counts)
    check_invariant(summary)
    return CleanResult(clean=clean, quarantine=quarantine, summary=summary)


def check_invariant(summary: dict) -> None:
    """Nothing lost: every raw row is clean or quarantined. Raises (not ``assert``: it must survive ``-O``)."""
    raw, clean, quarantined = summary["raw_rows"], summary["clean_rows"], summary["quarantined_rows"]
    if raw != clean + quarantined:
        raise AssertionError(f"row accounting broken: raw {raw} != clean {clean} + quarantined {quarantined}")
    if sum(summary.get("quarantine_reasons", {}).values()) != quarantined:
        raise AssertionError("quarantine reasons do not add up to the quarantined rows")


def _by_unique(values: pd.Series, normalise: Callable[[str], str | None]) -> pd.Series:
    """Apply a per-value Python function once per distinct value (labels have few), mapped back to all rows."""
    codes, uniques = pd.factorize(values.fillna(""))
    mapped = np.array([normalise(u) for u in uniques] + [None], dtype=object)
    return pd.Series(mapped[codes], index=values.index, dtype=object)  # code -1 (never here) → None


def _squash(value: str) -> str | None:
    """Trim, collapse inner whitespace (any Unicode space), empty → None."""
    return " ".join(value.split()) or None


def _case_of(target: str) -> str | None:
    return "upper" if target in _UPPER else "capitalise" if target in _CAPITALISED else None


def _label_normaliser(case: str | None) -> Callable[[str], str | None]:
    def normalise(value: str) -> str | None:
        squashed = _squash(value)
        if squashed is None or case is None:
            return squashed
        return squashed.upper() if case == "upper" else squashed.capitalize()

    return normalise


# Horizontal whitespace incl. Unicode spaces (NBSP, thin, ideographic...), written as literal characters (not
# escapes, not \\s) so the same class means the same thing to Python's re and to Arrow's RE2, and pandas keeps
# the vectorised Arrow path. Only "abnormal" runs are matched (not every single space): replacing is per match.
_BLANK_CHARS = " \t\f\v\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000"
_ODD_BLANKS = f" [{_BLANK_CHARS}]+|[{_BLANK_CHARS[1:]}][{_BLANK_CHARS}]*"


def _tidy_text(values: pd.Series) -> pd.Series:
    """NFKC (full-width digits and letters become ASCII), line breaks kept, runs of blanks and blank lines folded."""
    text = values.fillna("").astype("str")
    non_ascii = ~pd.Series(pc.string_is_ascii(pa.array(text.array)), index=text.index).to_numpy(dtype=bool)
    if non_ascii.any():
        text = text.copy()
        text[non_ascii] = text[non_ascii].str.normalize("NFKC")
    text = text.str.replace("\r\n?", "\n", regex=True).str.replace(_ODD_BLANKS, " ", regex=True)
    text = text.str.replace(" ?\n[ \n]*\n", "\n\n", regex=True)
    return text.str.replace(" ?\n ?", "\n", regex=True).str.strip()


def _normalised_fields(raw: pd.DataFrame) -> dict[str, pd.Series]:
    """Every clean column, computed for all rows (validity is decided separately)."""
    number = raw[ID_COLUMN].fillna("").astype("str").str.replace(_ODD_BLANKS, " ", regex=True).str.strip()
    fields: dict[str, pd.Series] = {"number": _none_where(number, number == "")}
    for source, target in {**_LABEL_TARGETS, "contact_type": "contact_type"}.items():
        fields[target] = _by_unique(raw[source], _label_normaliser(_case_of(target)))
    fields["text"] = _joined_text(raw["short_description"], raw["content"])
    fields["date"], fields["date_invalid"] = _parse_dates(raw["date"])
    return fields


def _joined_text(subject: pd.Series, body: pd.Series) -> pd.Series:
    """Subject + newline + body, each tidied (the newline only when both are present)."""
    subject, body = _tidy_text(subject), _tidy_text(body)
    both = (subject != "") & (body != "")
    return subject + pd.Series(np.where(both, "\n", ""), index=subject.index, dtype="str") + body


def model_texts(frame: pd.DataFrame, redactor: Redactor | None = None) -> pd.Series:
    """The model input for new tickets, built exactly as for training rows (tidy, join, NFKC, redact).

    ``frame`` has ``short_description`` and/or ``content`` (a missing one counts as empty); the redactor defaults
    to one that knows the frame's customer/agent names. Inference must use this, not its own joining, or the
    model sees text shaped differently from what it was trained on.
    """
    empty = pd.Series("", index=frame.index, dtype="str")
    subject = frame["short_description"] if "short_description" in frame.columns else empty
    body = frame["content"] if "content" in frame.columns else empty
    redacted, _ = (redactor or Redactor.from_frame(frame)).redact_series(_joined_text(subject, body))
    return redacted


def _none_where(values: pd.Series, empty: pd.Series) -> pd.Series:
    """An object Series holding None (not NaN) where ``empty``: None is what JSON and parquet call null."""
    out = values.to_numpy(dtype=object, copy=True)
    out[empty.to_numpy(dtype=bool)] = None
    return pd.Series(out, index=values.index, dtype=object)


def _parse_dates(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """ISO 8601 strings (None where empty or invalid), and which non-empty values are not a plausible date."""
    text = values.fillna("").astype(str).str.strip()
    parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    for fmt in _DATE_FORMATS:
        todo = parsed.isna() & (text != "")
        if not todo.any():
            break
        parsed[todo] = pd.to_datetime(text[todo], format=fmt, errors="coerce")
    todo = parsed.isna() & (text != "")
    if todo.any():
        iso = pd.to_datetime(text[todo], format="ISO8601", errors="coerce", utc=True)
        parsed[todo] = iso.dt.tz_localize(None)
    plausible = parsed.between(*_DATE_RANGE, inclusive="left")
    iso_text = parsed.dt.strftime("%Y-%m-%dT%H:%M:%S")
    out = np.full(len(values), None, dtype=object)
    keep = plausible.to_numpy(dtype=bool)
    out[keep] = iso_text.to_numpy(dtype=object)[keep]
    return pd.Series(out, index=values.index, dtype=object), (text != "") & ~plausible


def _flag(reason: np.ndarray, mask: np.ndarray | pd.Series, name: str) -> None:
    """Give rows their first reason only: a row already quarantined keeps the reason it has."""
    mask = np.asarray(mask, dtype=bool) & (reason == None)
    reason[mask] = name


def _flag_row_problems(
    raw: pd.DataFrame, fields: dict, reason: np.ndarray, max_chars: int, redactor: Redactor
) -> None:
    is_header = (raw[ID_COLUMN].str.strip().str.lower() == ID_COLUMN) & (
        raw["short_description"].str.strip().str.lower() == "short_description"
    )
    _flag(reason, is_header, "repeated header row")
    oversize = np.zeros(len(raw), dtype=bool)
    for col in raw.columns:
        oversize |= (raw[col].str.len() > max_chars).to_numpy()
    _flag(reason, oversize, "oversize field")
    _flag(reason, fields["number"].isna(), "missing ticket number")
    _flag(reason, _has_pii(fields["number"], redactor), "personal data in ticket number")
    _flag(reason, fields["text"] == "", "missing text")
    missing_label = np.zeros(len(raw), dtype=bool)
    for source in REQUIRED_LABELS:
        missing_label |= fields[_LABEL_TARGETS[source]].isna().to_numpy()
    _flag(reason, missing_label, "missing label")
    _flag(reason, fields["date_invalid"], "unparseable date")


def _flag_duplicates(raw: pd.DataFrame, fields: dict, reason: np.ndarray) -> None:
    alive = reason == None
    exact = raw[alive].duplicated(keep="first").reindex(raw.index, fill_value=False)
    _flag(reason, exact, "duplicate row")
    alive = reason == None
    numbers = fields["number"].where(alive)
    _flag(reason, alive & numbers.duplicated(keep=False).to_numpy(), "duplicate ticket number")


def _has_pii(values: pd.Series, redactor: Redactor) -> np.ndarray:
    """Which values the redactor would change: an e-mail, phone or name where an identifier belongs. Ids shaped
    like ``INC0012345`` (capitals then digits: nothing any detector fires on) are skipped, vectorised."""
    text = values.fillna("").astype("str")
    hit = np.zeros(len(text), dtype=bool)
    todo = (~text.str.fullmatch("[A-Z]*[0-9]*")).to_numpy(dtype=bool).nonzero()[0]
    if len(todo):
        redacted, _ = redactor.redact_series(text.iloc[todo])
        hit[todo] = redacted.to_numpy(dtype=object) != text.iloc[todo].to_numpy(dtype=object)
    return hit


def _redact(fields: dict, raw: pd.DataFrame, alive: np.ndarray, redactor: Redactor) -> Counter:
    """Redact every written field of the rows still alive (the others never reach the clean outputs): the text,
    the free-text labels, and the categorical labels and contact type too (an export may name a person as the
    assignment group). Categorical values are redacted in their source case, where names still have capitals,
    then normalised again."""
    text, counts = redactor.redact_series(fields["text"][alive])
    fields["text"] = fields["text"].astype(object)
    fields["text"][alive] = text.to_numpy(dtype=object)
    for col in ("software_system", "issue_request"):
        fields[col], found = _redact_labels(fields[col], alive, redactor)
        counts.update(found)
    for source, target in {**_LABEL_TARGETS, "contact_type": "contact_type"}.items():
        if target not in ("software_system", "issue_request"):
            redacted, found = _redact_labels(raw[source].astype(object), alive, redactor)
            fields[target] = _by_unique(redacted, _label_normaliser(_case_of(target)))
            counts.update(found)
    return counts


def _redact_labels(values: pd.Series, alive: np.ndarray, redactor: Redactor) -> tuple[pd.Series, Counter]:
    """Labels repeat: redact each distinct value once, count as if every row had been redacted."""
    codes, uniques = pd.factorize(values.where(alive))
    per_row = np.bincount(codes[codes >= 0], minlength=len(uniques)).tolist()
    counts: Counter = Counter()
    redacted = []
    for value, rows in zip(uniques, per_row):
        clean_value, found = redactor.redact(value)
        redacted.append(clean_value)
        counts.update({kind: n * rows for kind, n in found.items()})
    out = values.to_numpy(dtype=object, copy=True)
    hit = codes >= 0
    out[hit] = np.array(redacted, dtype=object)[codes[hit]]
    return pd.Series(out, index=values.index, dtype=object), counts


def _quarantine_frame(raw: pd.DataFrame, reason: np.ndarray, bad_rows: pd.DataFrame) -> pd.DataFrame:
    """Original rows (untouched cells) plus their reason, in file order; malformed lines last."""
    mask = reason != None
    quarantine = raw[mask].assign(reason=reason[mask])
    if len(bad_rows):
        quarantine = pd.concat([quarantine, bad_rows.reindex(columns=quarantine.columns, fill_value="")])
    return quarantine.reset_index(drop=True)


def _summary(raw_rows: int, clean: pd.DataFrame, quarantine: pd.DataFrame, redactions: Counter) -> dict:
    reasons = quarantine["reason"].value_counts() if len(quarantine) else pd.Series(dtype=int)
    return {
        "raw_rows": int(raw_rows),
        "clean_rows": len(clean),
        "quarantined_rows": len(quarantine),
        "quarantine_reasons": {str(k): int(v) for k, v in sorted(reasons.items())},
        "redactions": {k: int(redactions.get(k, 0)) for k in KINDS},
    }
