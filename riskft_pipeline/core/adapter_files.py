"""The two files a training leaves beside its weights, and their one reader each:

- ``adapter/riskft_adapter.json`` (:data:`ADAPTER_META`): the recipe, the base model's identity and the training
  result, written by :func:`riskft_pipeline.training.sft.train`; what evaluation, registration and loading read.
- ``run.json`` (:data:`RUN_INFO`) beside ``adapter/``: which data, recipe and MLflow run made the adapter, written by
  :func:`riskft_pipeline.workflows.train`; absent when an adapter folder was copied elsewhere.

Stdlib only, so the trainer (torch), the tracking layer (mlflow) and the CLI share them without importing each other.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from riskft_pipeline.core.errors import InputError

ADAPTER_META = "riskft_adapter.json"
RUN_INFO = "run.json"


def read_adapter_meta(adapter_dir: str | Path) -> dict[str, Any]:
    """``riskft_adapter.json`` of ``adapter_dir``; :class:`InputError` when the folder has none or it is not a JSON
    object."""
    meta_path = Path(adapter_dir) / ADAPTER_META
    if not meta_path.is_file():
        raise InputError(f"{adapter_dir} is not a riskft adapter folder (no {ADAPTER_META})")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InputError(f"{meta_path}: not valid JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise InputError(f"{meta_path}: expected a JSON object")
    return meta


def read_run_info(adapter_dir: str | Path) -> dict[str, Any]:
    """``run.json`` beside the adapter folder (empty when the adapter was copied elsewhere)."""
    p = Path(adapter_dir).parent / RUN_INFO
    return json.loads(p.read_text(encoding="utf-8")) if p.is_file() else {}
