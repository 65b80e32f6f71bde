"""Tiny LoRA training with the real offline base: the adapter learns, the base does not change, the adapter folder
is complete and self-describing, and callbacks receive the logs."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from riskft_pipeline.core.config import recipe_hash
from riskft_pipeline.core.files import write_json
from riskft_pipeline.training.base_model import weights_sha256
from riskft_pipeline.training.sft import ADAPTER_META, is_complete_checkpoint, last_complete_checkpoint


def test_tiny_training_writes_a_complete_adapter(trained, tiny_recipe):
    result = trained["result"]
    adapter = trained["out"] / "adapter"
    assert result["adapter_dir"] == str(adapter)
    assert result["steps"] == tiny_recipe.train.max_steps
    assert result["n_train_examples"] == tiny_recipe.train.max_train_examples
    assert result["n_dropped_too_long"] == 0
    assert result["tokens_per_s"] > 0
    assert [s for s, _ in result["loss_curve"]] == list(range(1, tiny_recipe.train.max_steps + 1))
    assert result["seed"] == tiny_recipe.train.seed
    for name in ("adapter_model.safetensors", "adapter_config.json", "tokenizer.json", "generation_config.json"):
        assert (adapter / name).is_file(), name
    meta = json.loads((adapter / ADAPTER_META).read_text())
    assert meta["task"] == "tickets"
    assert meta["recipe_hash"] == recipe_hash(tiny_recipe)
    assert meta["base_model"]["identity"] == result["base_model"]
    assert meta["base_model"]["config"]["name"] == tiny_recipe.base_model.name
    assert meta["train"]["steps"] == result["steps"]
    generation = json.loads((adapter / "generation_config.json").read_text())
    assert generation["eos_token_id"] == 2  # <|im_end|>: the token the answers were trained to end with


def test_adapter_weights_changed_and_base_weights_did_not(trained, offline_base):
    weights = load_file(trained["out"] / "adapter" / "adapter_model.safetensors")
    assert weights and all("lora_" in k for k in weights)  # adapter only, never base weights
    lora_b = [v for k, v in weights.items() if "lora_B" in k]
    assert lora_b and all(torch.count_nonzero(v) > 0 for v in lora_b)  # B starts at zero: training moved it
    assert weights_sha256(offline_base.path, memo=False) == offline_base.identity["weights_sha256"]


def test_adapter_changes_outputs_and_disabling_it_restores_the_base(trained, tokenizer):
    from riskft_pipeline.core.config import BaseModelConfig
    from riskft_pipeline.training.base_model import load_base
    from riskft_pipeline.training.infer import load_for_inference

    base, _, _ = load_base(BaseModelConfig(), for_training=False)
    tuned, _ = load_for_inference(trained["out"] / "adapter", merge=False)
    ids = torch.tensor([tokenizer("<|im_start|>user\nOutlook crashes<|im_end|>\n")["input_ids"]])
    with torch.inference_mode():
        ref = base(input_ids=ids).logits
        with_adapter = tuned(input_ids=ids).logits
        with tuned.disable_adapter():
            without = tuned(input_ids=ids).logits
    assert not torch.allclose(with_adapter, ref, atol=1e-4)
    torch.testing.assert_close(without, ref)


def test_callbacks_receive_step_and_loss(trained, tiny_recipe):
    steps = [s for s, log in trained["logs"] if "loss" in log]
    assert steps == list(range(1, tiny_recipe.train.max_steps + 1))
    assert all(isinstance(log["loss"], float) for _, log in trained["logs"] if "loss" in log)


def test_checkpoints_complete_only_with_state_and_weights(trained, tmp_path):
    ckpts = trained["out"] / "checkpoints"
    last = last_complete_checkpoint(ckpts)
    assert last is not None and last.name == "checkpoint-4"
    half = tmp_path / "checkpoint-6"
    half.mkdir()
    (half / "adapter_model.safetensors").write_bytes(b"partial")
    assert not is_complete_checkpoint(half)
    (half / "optimizer.pt").write_bytes(b"")
    (half / "scheduler.pt").write_bytes(b"")
    (half / "trainer_state.json").write_text('{"global_st')  # killed mid-write
    assert not is_complete_checkpoint(half)
    write_json(half / "trainer_state.json", {"global_step": 6})
    assert is_complete_checkpoint(half)


def test_training_data_without_examples_is_rejected(tmp_path, tiny_recipe):
    from riskft_pipeline.training.sft import train

    (tmp_path / "train.jsonl").write_text("")
    with pytest.raises(ValueError, match="no examples"):
        train(tiny_recipe, tmp_path, tmp_path / "out", progress=False)


def test_top_layers_lora_adapts_only_the_top_and_runs_no_backward_below(offline_base, tiny_recipe, tokenizer):
    """``lora.top_layers``: adapters only in the top N blocks (every linear layer there, as ``all-linear`` would), the
    blocks below produce activations that need no gradient (so autograd skips them), and the top still learns."""
    from peft import get_peft_model

    from riskft_pipeline.training.base_model import load_base
    from riskft_pipeline.training.sft import _lora_config, decoder_layers, linear_names

    recipe = tiny_recipe.model_copy(update={"lora": tiny_recipe.lora.model_copy(update={"top_layers": 2})})
    model, _, _ = load_base(recipe.base_model, for_training=True)
    blocks = decoder_layers(model)
    n = len(blocks)
    wanted = {(i, name) for i in (n - 2, n - 1) for name in linear_names(blocks[0])}
    model = get_peft_model(model, _lora_config(recipe, model))
    adapted = {(int(k.split(".layers.")[1].split(".")[0]), k.split(".lora_A")[0].split(".")[-1])
               for k, _ in model.named_parameters() if ".lora_A." in k}
    assert adapted == wanted and {"q_proj", "down_proj"} <= {m for _, m in wanted}

    needs_grad = {}

    def note(i):
        def hook(module, args, out):
            needs_grad[i] = (out[0] if isinstance(out, tuple) else out).requires_grad
        return hook

    for i in (0, n - 3, n - 2):
        decoder_layers(model)[i].register_forward_hook(note(i))
    ids = tokenizer("a change to the login service", return_tensors="pt")["input_ids"]
    model(input_ids=ids).logits[0, -1].logsumexp(-1).backward()
    assert needs_grad == {0: False, n - 3: False, n - 2: True}
    grads = [p.grad for k, p in model.named_parameters() if ".lora_B." in k]
    assert grads and all(g is not None and g.abs().sum() > 0 for g in grads)


def test_top_layers_beyond_the_model_is_a_clear_error(offline_base, tiny_recipe):
    from riskft_pipeline.core.errors import InputError
    from riskft_pipeline.training.base_model import load_base
    from riskft_pipeline.training.sft import _lora_config

    recipe = tiny_recipe.model_copy(update={"lora": tiny_recipe.lora.model_copy(update={"top_layers": 999})})
    model, _, _ = load_base(recipe.base_model, for_training=True)
    with pytest.raises(InputError, match="999 but the base model has 30 decoder layers"):
        _lora_config(recipe, model)
