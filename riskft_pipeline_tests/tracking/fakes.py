"""Fakes shared by the tracking tests: adapter metadata, lineage files, evaluation reports."""

from __future__ import annotations

import json
from pathlib import Path

from riskft_pipeline.core.config import Recipe

FAKE_IDENTITY = {"name": "offline:fake", "source": "test", "sha256": "ab" * 32, "weights_sha256": "cd" * 32}


def write_adapter_meta(adapter_dir: Path, recipe: Recipe, identity: dict) -> None:
    """``riskft_adapter.json`` in the training module's own format."""
    from riskft_pipeline.training.sft import ADAPTER_META, adapter_metadata

    meta = adapter_metadata(recipe, {"base_model": identity, "loss_curve": [], "seed": recipe.train.seed})
    (adapter_dir / ADAPTER_META).write_text(json.dumps(meta), encoding="utf-8")


def make_data(folder: Path, test_text: str = "test rows\n") -> dict:
    """A raw file and three split files; returns the ``lineage`` argument of ``register_adapter``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "raw.csv").write_text("number,short_description\nINC1,printer\n", encoding="utf-8")
    for name, text in (("train", "train rows\n"), ("val", "val rows\n"), ("test", test_text)):
        (folder / f"{name}.jsonl").write_text(text, encoding="utf-8")
    return {"input": folder / "raw.csv",
            "splits": {n: folder / f"{n}.jsonl" for n in ("train", "val", "test")}}


def fake_report(value: float, valid_json_rate: float = 1.0) -> dict:
    return {
        "fields": {"category": {"model": {"accuracy": value, "macro_f1": value / 2},
                                "majority": {"accuracy": 0.5, "macro_f1": 0.1}}},
        "valid_json_rate": valid_json_rate,
        "n_test": 10,
        "mean_field_accuracy": value,
        "primary_metric": {"name": "mean_field_accuracy", "value": value},
    }
