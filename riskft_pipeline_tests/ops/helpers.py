"""Shared by the ops and e2e tests: small adapters that register like real ones, and registering them.

- :func:`fake_adapter`: zero weights and a made-up base identity; registers, never loads (UI and storage tests).
- :func:`lora_adapter`: fresh random LoRA weights on the real offline base, saved the way the trainer saves them;
  loads and generates (enrichment tests) without paying for training.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from riskft_pipeline.core.config import Recipe
from riskft_pipeline_tests.tracking.fakes import write_adapter_meta as _write_meta

FAKE_IDENTITY = {"name": "offline:fake", "source": "test", "sha256": "ab" * 32, "weights_sha256": "cd" * 32}


def tickets_recipe(model_name: str = "ticket-extractor") -> Recipe:
    return Recipe(name="ops-test", eval={"batch_size": 4, "max_new_tokens": 24},
                  register={"model_name": model_name})


def risk_recipe(model_name: str = "change-risk") -> Recipe:
    return Recipe(name="ops-test-risk", task="risk", eval={"batch_size": 4, "max_new_tokens": 24},
                  register={"model_name": model_name, "primary_metric": "test_auc"})


def fake_adapter(folder: Path, recipe: Recipe) -> Path:
    from safetensors.numpy import save_file

    folder.mkdir(parents=True, exist_ok=True)
    save_file({"lora_A": np.zeros((2, 4), dtype=np.float32)}, str(folder / "adapter_model.safetensors"))
    (folder / "adapter_config.json").write_text(json.dumps({"r": 2}), encoding="utf-8")
    _write_meta(folder, recipe, FAKE_IDENTITY)
    return folder


def lora_adapter(folder: Path, recipe: Recipe) -> Path:
    import torch
    from peft import LoraConfig, get_peft_model

    from riskft_pipeline.training.base_model import load_base

    model, tokenizer, identity = load_base(recipe.base_model, for_training=False)
    torch.manual_seed(0)
    lora = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False,
                      task_type="CAUSAL_LM")
    get_peft_model(model, lora).save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    model.generation_config.save_pretrained(folder)
    _write_meta(folder, recipe, identity)
    return folder


def register(adapter: Path, recipe: Recipe, data_dir: Path, *, tracking_uri: str | None = None,
             value: float = 0.5, report_extra: dict | None = None) -> dict:
    """A training run + registration with lineage pointing at ``data_dir`` (which needs train/val/test.jsonl; a
    risk model also history_stats.json and tier_definition.json)."""
    from riskft_pipeline.tracking.registry import register_adapter
    from riskft_pipeline.tracking.runs import start_training_run

    with start_training_run(f"{recipe.register.model_name}-ops-test", "train", recipe=recipe,
                            tracking_uri=tracking_uri) as run:
        pass
    metric = recipe.register.primary_metric
    report = {"primary_metric": {"name": metric, "value": value}, metric: value, "valid_json_rate": 1.0,
              **(report_extra or {})}
    lineage = {"splits": {n: data_dir / f"{n}.jsonl" for n in ("train", "val", "test")}}
    return register_adapter(run_id=run.run_id, adapter_dir=adapter, report=report,
                            model_name=recipe.register.model_name, primary_metric=metric, lineage=lineage,
                            task=recipe.task, tracking_uri=tracking_uri)


def split_files(folder: Path) -> Path:
    """Three tiny split files (registration hashes them; nothing reads them)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("train", "val", "test"):
        (folder / f"{name}.jsonl").write_text(f'{{"id": "{name}"}}\n', encoding="utf-8")
    return folder


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tick(sensor, instance, cursor: str | None = None):
    """One evaluation of ``sensor`` on ``instance`` with the given cursor (Dagster's test sensor context)."""
    import dagster as dg

    return sensor.evaluate_tick(dg.build_sensor_context(instance=instance, cursor=cursor))
