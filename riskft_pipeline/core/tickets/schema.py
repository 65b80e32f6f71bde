"""The contract of the clean ticket frame, as a pandera schema (the Dagster "schema holds" check runs it).

It pins what downstream code relies on: exactly the clean columns in order, unique non-empty ticket numbers,
non-empty model text, required labels present, labels already normalised (upper-case
categorical fields, no stray whitespace), ISO 8601 dates, and no customer/agent/notes columns.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa

from riskft_pipeline.core.tickets.clean import CLEAN_COLUMNS

_ISO_DATE = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$"
_TRIMMED = r"^\S(?:.*\S)?$"
_UPPER = r"^[^a-z]*$"


def _label(*, nullable: bool, upper: bool = False) -> pa.Column:
    checks = [pa.Check.str_matches(_TRIMMED), pa.Check.str_length(1, 1000)]
    if upper:
        checks.append(pa.Check.str_matches(_UPPER))
    return pa.Column(str, nullable=nullable, checks=checks)


CLEAN_SCHEMA = pa.DataFrameSchema(
    {
        "number": pa.Column(str, unique=True, checks=[pa.Check.str_matches(_TRIMMED)]),
        "type": _label(nullable=False),
        "date": pa.Column(str, nullable=True, checks=pa.Check.str_matches(_ISO_DATE)),
        "contact_type": _label(nullable=True),
        "text": pa.Column(str, checks=[pa.Check.str_length(min_value=1)]),
        "category": _label(nullable=False, upper=True),
        "subcategory": _label(nullable=True, upper=True),
        "assignment_group": _label(nullable=True, upper=True),
        "software_system": _label(nullable=True),
        "issue_request": _label(nullable=True),
    },
    strict=True,
    ordered=True,
    coerce=False,
    name="clean_tickets",
)
if tuple(CLEAN_SCHEMA.columns) != CLEAN_COLUMNS:  # one list of columns, two places: keep them in step
    raise RuntimeError("CLEAN_SCHEMA and CLEAN_COLUMNS disagree")


def validate_clean(df: pd.DataFrame) -> pd.DataFrame:
    """Validate every rule at once (lazy); raises ``pandera.errors.SchemaErrors`` listing all failures."""
    return CLEAN_SCHEMA.validate(df, lazy=True)


def schema_errors(df: pd.DataFrame, limit: int = 20) -> list[str]:
    """The failures as readable lines (empty when the frame is valid), for checks and reports."""
    try:
        validate_clean(df)
    except pa.errors.SchemaErrors as e:
        cases = e.failure_cases
        return [
            f"{row.column}: {row.check} failed for {str(row.failure_case)[:80]!r}"
            for row in cases.head(limit).itertuples()
        ]
    return []
