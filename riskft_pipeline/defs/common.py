"""Small helpers shared by the asset modules: a task's data half, run-scoped output folders, metadata rendering."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from riskft_pipeline import paths
from riskft_pipeline.core.progress import ProgressLines


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
    return dg.MetadataValue.md(_inline_png(Path(path)))


def _inline_png(path: Path) -> str:
    import base64

    data = base64.b64encode(path.read_bytes()).decode()
    return f"![{path.name}](data:image/png;base64,{data})"


_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+\.png)\)")


def markdown_with_images(text: str, folder: Path) -> str:
    """A report's markdown with its relative PNG links (``![roc](roc.png)``) embedded as data URIs, so the images
    render in the Dagster UI, which cannot reach the report's folder; a link to a missing file is left as text."""

    def embed(m: re.Match) -> str:
        png = folder / m.group(2)
        return _inline_png(png) if png.is_file() and png.resolve().is_relative_to(folder.resolve()) \
            else f"({m.group(1) or m.group(2)}: not found)"

    return _MD_IMAGE.sub(embed, text)


def loss_curve_png(curve: list[tuple[int, float]], path: Path, title: str = "training loss") -> Path | None:
    """The loss per logged step as a small PNG (None when nothing was logged). Pure: matplotlib only."""
    if not curve:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps, losses = zip(*curve, strict=True)
    fig, ax = plt.subplots(figsize=(6, 3.2), dpi=100)
    try:
        ax.plot(steps, losses, marker="o" if len(steps) < 30 else None, linewidth=1.5)
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)
    return path


#: keys of a prediction row not shown in the sample table: raw generations and extras that repeat other columns
_SAMPLE_SKIP = re.compile(r"^(raw|zero_shot.*|adapter_predicted)$")


def predictions_sample(path: Path, n: int = 10, max_columns: int = 24) -> list[dict]:
    """The first ``n`` rows of ``predictions.jsonl`` as flat records (nested dicts become ``key.sub`` columns,
    floats rounded, long text cut), for a table in the asset's metadata."""
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if len(rows) >= n:
                break
            if line.strip():
                rows.append(_flat(json.loads(line)))
    columns: list[str] = []
    for r in rows:
        columns += [c for c in r if c not in columns]
    columns = columns[:max_columns]
    return [{c: r.get(c) for c in columns} for r in rows]


def _flat(row: dict, prefix: str = "") -> dict:
    out: dict = {}
    for k, v in row.items():
        if _SAMPLE_SKIP.match(str(k)):
            continue
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flat(v, key + "."))
        elif isinstance(v, float):
            out[key] = round(v, 4)
        elif isinstance(v, (int, bool)) or v is None:
            out[key] = v
        else:
            text = str(v)
            out[key] = text if len(text) <= 80 else text[:77] + "..."
    return out


def table(records: list[dict]) -> dg.MetadataValue:
    """Flat records as a Dagster table (typed columns; None shown empty)."""
    if not records:
        return dg.MetadataValue.md("_(empty)_")
    cols = list(records[0])

    def kind(c: str) -> str:
        values = [r.get(c) for r in records if r.get(c) is not None]
        if values and all(isinstance(v, bool) for v in values):
            return "bool"
        if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            return "int"
        if values and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            return "float"
        return "string"

    kinds = {c: kind(c) for c in cols}

    def cell(c: str, v):
        if v is None:
            return "" if kinds[c] == "string" else None
        return str(v) if kinds[c] == "string" else v

    schema = dg.TableSchema(columns=[dg.TableColumn(c, kinds[c]) for c in cols])
    # every record carries every column (Dagster requires it); a missing number stays None (shown empty)
    rows = [dg.TableRecord({c: cell(c, r.get(c)) for c in cols}) for r in records]
    return dg.MetadataValue.table(records=rows, schema=schema)


class StepLog:
    """Progress into the Dagster event log: ``step(done, total)`` (the trainer's ``on_step``) and ``logs(step,
    logs)`` (its log callback: remembers the latest loss) write one ``context.log.info`` line at most every
    ``every_s`` seconds, and always the last step; ``examples(stage, done, total)`` is the evaluation's progress
    callback (:class:`~riskft_pipeline.core.progress.ProgressLines`: a line per 10% of a stage or per ``every_s``
    seconds, with examples/s). Lines start with ``[progress]`` (``make run`` shows them)."""

    PREFIX = "[progress]"

    def __init__(self, log: Callable[[str], None], label: str, every_s: float = 15.0) -> None:
        self.log, self.label, self.every_s = log, label, every_s
        self.t0 = time.monotonic()
        self._last = float("-inf")
        self.loss: float | None = None
        self.examples = ProgressLines(self.line, every_s=every_s)

    def logs(self, step: int, logs: dict) -> None:
        if isinstance(logs.get("loss"), (int, float)):
            self.loss = float(logs["loss"])

    def step(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self._last < self.every_s:
            return
        self._last = now
        pct = f" ({100 * done / total:.0f}%)" if total else ""
        loss = f", loss {self.loss:.3f}" if self.loss is not None else ""
        self.line(f"step {done}/{total}{pct}{loss}, {now - self.t0:.0f} s")

    def line(self, text: str) -> None:
        self.log(f"{self.PREFIX} {self.label}: {text}")


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
