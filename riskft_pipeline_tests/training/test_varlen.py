"""Padding-free rows on the CPU (:mod:`riskft_pipeline.training.varlen`): each packed example attends only to itself,
so a padding-free batch computes what the padded batch computes — the same hidden states, loss and LoRA gradients —
and ``sft.train`` switches to it when the recipe asks for padding-free rows."""

from __future__ import annotations

import pytest
import torch

from riskft_pipeline.training import sft, varlen


def _collate(tokenizer, examples, padding_free):
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    return DataCollatorForLanguageModeling(pad_token_id=tokenizer.pad_token_id, padding_free=padding_free)(examples)


@pytest.fixture
def examples(tokenizer, chat_data, tiny_recipe):
    rows = sft.read_split(chat_data / "train.jsonl")[:3]
    encoded, _ = sft.encode_rows(tokenizer, rows, tiny_recipe.train.max_length)
    assert len({len(e["input_ids"]) for e in encoded}) > 1, "the batch must need padding for the test to mean much"
    return encoded


def test_packed_rows_attend_per_example_and_match_the_padded_batch(offline_base, tiny_recipe, tokenizer, examples):
    from riskft_pipeline.training.base_model import load_base

    model, _, _ = load_base(tiny_recipe.base_model, for_training=False)
    padded, packed = _collate(tokenizer, examples, False), _collate(tokenizer, examples, True)
    assert packed["input_ids"].shape[0] == 1 and "attention_mask" not in packed
    model.set_attn_implementation(varlen.register())
    with torch.inference_mode():
        want = model.model(**{k: v for k, v in padded.items() if k != "labels"}, use_cache=False).last_hidden_state
        got = model.model(**{k: v for k, v in packed.items() if k != "labels"}, use_cache=False).last_hidden_state
        unseparated = model.model(input_ids=packed["input_ids"], use_cache=False).last_hidden_state
    offset = 0
    for i, e in enumerate(examples):
        n = len(e["input_ids"])
        torch.testing.assert_close(got[0, offset:offset + n], want[i, :n], rtol=1e-4, atol=2e-4)
        if offset:  # without the boundaries the later examples would see the earlier ones
            assert not torch.allclose(unseparated[0, offset:offset + n], want[i, :n], atol=1e-2)
        offset += n
    assert offset == got.shape[1]


def test_padding_free_batch_gives_the_padded_loss_and_lora_gradients(offline_base, tiny_recipe, tokenizer, examples,
                                                                     tmp_path):
    from datasets import Dataset

    from riskft_pipeline.training.answer_loss import answer_head_trainer
    from riskft_pipeline.training.base_model import load_base

    model, _, _ = load_base(tiny_recipe.base_model, for_training=True)
    trainer = answer_head_trainer()(
        model=model, args=sft.build_sft_config(tiny_recipe, tmp_path / "ckpt", False),
        train_dataset=Dataset.from_list(examples), processing_class=tokenizer,
        peft_config=sft._lora_config(tiny_recipe, model))
    peft_model = trainer.model
    peft_model.get_base_model().set_attn_implementation(varlen.register())

    def loss_and_grads(batch):
        peft_model.zero_grad()
        loss = trainer.compute_loss(peft_model, dict(batch))
        loss.backward()
        return float(loss.detach()), {n: p.grad.clone() for n, p in peft_model.named_parameters() if p.requires_grad}

    padded_loss, padded_grads = loss_and_grads(_collate(tokenizer, examples, False))
    packed_loss, packed_grads = loss_and_grads(_collate(tokenizer, examples, True))
    assert packed_loss == pytest.approx(padded_loss, rel=1e-4)
    assert any(g.abs().sum() > 0 for g in padded_grads.values())
    for name, grad in padded_grads.items():
        torch.testing.assert_close(packed_grads[name], grad, rtol=1e-3, atol=1e-5)


def test_recipe_switch_uses_per_example_attention_only_for_padding_free_sdpa_on_cpu(offline_base, tiny_recipe):
    from riskft_pipeline.training.base_model import load_base

    model, _, _ = load_base(tiny_recipe.base_model, for_training=True)
    assert not sft.use_varlen_attention(model, tiny_recipe.train)
    assert model.config._attn_implementation == "sdpa"
    assert sft.use_varlen_attention(model, tiny_recipe.train.model_copy(update={"padding_free": True}))
    assert model.config._attn_implementation == varlen.NAME


def test_padding_free_training_trains_on_every_real_token(offline_base, tiny_recipe, chat_data, tmp_path):
    """The same examples in the same order, padded or padding-free: the same tokens seen and nearly the same losses
    (float summation order differs)."""
    from riskft_pipeline.training.sft import train

    t = tiny_recipe.train.model_copy(update={"group_by_length": False, "max_steps": 2, "save_steps": 100})
    padded = train(tiny_recipe.model_copy(update={"train": t}), chat_data, tmp_path / "padded", progress=False)
    free = train(tiny_recipe.model_copy(update={"train": t.model_copy(update={"padding_free": True})}), chat_data,
                 tmp_path / "free", progress=False)
    assert free["tokens_seen_this_session"] == padded["tokens_seen_this_session"] > 0
    assert [s for s, _ in free["loss_curve"]] == [s for s, _ in padded["loss_curve"]]
    for (_, a), (_, b) in zip(free["loss_curve"], padded["loss_curve"]):
        assert a == pytest.approx(b, rel=2e-3)
