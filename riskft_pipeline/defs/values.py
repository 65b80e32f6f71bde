"""The values the chain's assets hand to each other: small frozen dataclasses of paths, hashes and summaries (the data
itself lives in run-scoped folders, :func:`riskft_pipeline.defs.common.run_dir`).

An asset's input annotated with one of these classes gets that type from the IO manager. Runs made before the values
were typed stored plain dicts; :meth:`Value.of` converts such a dict on load (``defs/io_manager.py``), so an earlier
run's materialisation is still read back as the latest one.

The model-version asset's value stays the registration dict of :func:`riskft_pipeline.tracking.registry.register_adapter`
(the tracking layer's documented return, also what ``riskft register`` prints).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Self


@dataclasses.dataclass(frozen=True)
class Value:
    """Base of the asset values: :meth:`of` accepts an instance or the dict an earlier run pickled."""

    @classmethod
    def of(cls, obj: Any) -> Self:
        if isinstance(obj, cls):
            return obj
        if not isinstance(obj, Mapping):
            raise TypeError(f"cannot read a {cls.__name__} from {type(obj).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in obj.items() if k in names}
        if "warnings" in kwargs:
            kwargs["warnings"] = tuple(kwargs["warnings"] or ())
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class RawFile(Value):
    """``raw_*``: the input file as found, hashed (never modified)."""

    path: str
    sha256: str
    encoding: str = "utf-8"
    warnings: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class CleanTable(Value):
    """``clean_*`` / ``change_features``: ``dir`` holds ``clean.parquet``, ``quarantine.csv``,
    ``clean_summary.json``; ``summary`` is that summary (row counts, quarantine reasons)."""

    dir: str
    input_path: str
    input_sha256: str
    summary: dict
    encoding: str = "utf-8"
    warnings: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Splits(Value):
    """``*_splits``: ``data_dir`` holds ``{train,val,test}.jsonl`` and ``summary.json`` (= ``summary``);
    ``data_version`` combines the split hashes; ``recipe_path`` when the splits depend on the recipe (risk)."""

    data_dir: str
    input_path: str
    summary: dict
    data_version: str
    recipe_path: str | None = None


@dataclasses.dataclass(frozen=True)
class Adapter(Value):
    """``*_adapter``: the trained adapter folder and what made it."""

    adapter_dir: str
    data_dir: str
    recipe_path: str
    mlflow_run_id: str | None
    splits_data_version: str | None = None


@dataclasses.dataclass(frozen=True)
class EvalReport(Value):
    """``*_eval_report``: ``report.json`` (and its plots, predictions) in ``out_dir``."""

    report_path: str
    out_dir: str
    primary_metric: dict
    valid_json_rate: float | None = None


VALUE_TYPES: tuple[type[Value], ...] = (RawFile, CleanTable, Splits, Adapter, EvalReport)
