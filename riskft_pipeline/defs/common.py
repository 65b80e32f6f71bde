"""Small helpers shared by the asset modules: a task's data half, run-scoped output folders, metadata rendering."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from riskft_pipeline import paths


@dataclass(frozen=True)
class DataAssets:
    """A task's data half (its spec's ``data_assets``): raw → clean → splits assets and their checks.
    ``split_params``: when the splits depend on the recipe, ``recipe -> summary["params"]`` that the adapter's recipe
    would have built them with (the adapter refuses splits built with other params)."""

    assets: list
    checks: list = field(default_factory=list)
    split_params: Callable | None = None


def run_dir(context: dg.AssetExecutionContext, asset_name: str) -> Path:
    """``.riskft/data/<asset>/<run id>/``: overlapping runs never write the same path, so a version's recorded hashes
    always describe the files it was made from."""
    return paths.data_dir() / asset_name / context.run.run_id


def md_table(rows: dict | list[dict], headers: tuple[str, str] = ("key", "value")) -> dg.MetadataValue:
    """A dict (key → value) or a list of flat dicts as a markdown table."""
    if isinstance(rows, dict):
        lines = [f"| {headers[0]} | {headers[1]} |", "|---|---|"]
        lines += [f"| {_cell(k)} | {_cell(v)} |" for k, v in rows.items()]
        return dg.MetadataValue.md("\n".join(lines))
    if not rows:
        return dg.MetadataValue.md("_(empty)_")
    cols = list(rows[0])
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(_cell(r.get(c)) for c in cols) + " |" for r in rows]
    return dg.MetadataValue.md("\n".join(lines))


def _cell(v) -> str:
    if isinstance(v, float):
        v = f"{v:.4g}"
    return str(v).replace("|", "\\|").replace("\n", " ")[:200]


def image(path: Path) -> dg.MetadataValue:
    """A PNG rendered inline in the asset's metadata (base64 markdown image)."""
    import base64

    data = base64.b64encode(Path(path).read_bytes()).decode()
    return dg.MetadataValue.md(f"![{Path(path).name}](data:image/png;base64,{data})")


def numeric_metadata(d: dict, prefix: str = "") -> dict[str, float]:
    """Flatten a nested dict of numbers into ``a/b/c`` keys (for metadata plots over time in the UI)."""
    out: dict[str, float] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(numeric_metadata(v, key + "/"))
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out[key] = float(v)
    return out


class user_errors:  # lower-case: used as a context manager, like contextlib.suppress
    """Turn an unusable-input error into a ``dg.Failure`` whose description is the one readable line, so the UI shows
    the problem rather than a stack trace."""

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        from riskft_pipeline.core.config import RecipeError
        from riskft_pipeline.core.errors import InputError

        if exc is not None and isinstance(exc, (InputError, RecipeError)):
            raise dg.Failure(description=str(exc)) from exc
        return False
