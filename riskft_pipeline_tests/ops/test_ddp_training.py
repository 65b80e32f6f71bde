"""Multi-process training: the real training entry point under ``torchrun --nproc_per_node 2`` on CPU (gloo) runs
data-parallel and leaves exactly one adapter."""

from __future__ import annotations

import json

import pytest


@pytest.mark.slow
def test_two_cpu_processes_train_one_adapter(ddp_run):
    assert ddp_run["returncode"] == 0, ddp_run["stderr"][-3000:]
    out = ddp_run["out"]
    probes = sorted((json.loads(p.read_text()) for p in out.glob("ddp_probe-rank*.json")), key=lambda p: p["rank"])
    assert [p["rank"] for p in probes] == [0, 1]
    for p in probes:
        assert p["world_size"] == 2
        assert p["distributed_type"] == "DistributedType.MULTI_CPU", p
        assert p["model_wrapper"] == "DistributedDataParallel", p
        assert p["ranks_agree"], "every rank must end with the same LoRA weights (gradients synchronised)"

    adapters = [d for d in out.rglob("adapter_model.safetensors") if "checkpoint" not in str(d)]
    assert [a.parent for a in adapters] == [out / "adapter"], "exactly one adapter, written by rank 0"
    meta = json.loads((out / "adapter" / "riskft_adapter.json").read_text())
    assert meta["train"]["steps"] == 4
    stdout = ddp_run["stdout"]
    summary = json.loads(stdout[stdout.index('{\n  "steps"'):])  # rank 0 alone prints its summary, last
    assert summary["adapter_dir"] == str(out / "adapter")
    assert summary["epochs"] == 2.0, "2 processes x 2 rows per step: the 8 examples are seen twice in 4 steps"
