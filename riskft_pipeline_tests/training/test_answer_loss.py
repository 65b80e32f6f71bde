"""The CPU answer-only loss (:mod:`riskft_pipeline.training.answer_loss`): what it reads of trl's internals exists on
the installed trl, and it gives trl's own loss and gradients on the same batch."""

from __future__ import annotations

import dataclasses
import inspect

import pytest
import torch

from riskft_pipeline.training import answer_loss, sft


@pytest.fixture
def trainer_and_batch(offline_base, tiny_recipe, chat_data, tmp_path):
    from datasets import Dataset

    from riskft_pipeline.training.base_model import load_base, load_tokenizer

    model, _, _ = load_base(tiny_recipe.base_model, for_training=True)
    tokenizer = load_tokenizer(offline_base.path, padding_side="right")
    examples, _ = sft.encode_rows(tokenizer, sft.read_split(chat_data / "train.jsonl"), tiny_recipe.train.max_length)
    trainer = answer_loss.answer_head_trainer()(
        model=model, args=sft.build_sft_config(tiny_recipe, tmp_path / "ckpt", False),
        train_dataset=Dataset.from_list(examples), processing_class=tokenizer,
        peft_config=sft._lora_config(tiny_recipe, model))
    return trainer, next(iter(trainer.get_train_dataloader()))


def test_trls_compute_loss_has_the_signature_the_override_forwards():
    from trl import SFTTrainer

    params = tuple(inspect.signature(SFTTrainer.compute_loss).parameters)
    assert params == answer_loss.COMPUTE_LOSS_PARAMETERS, (
        f"trl's SFTTrainer.compute_loss now takes {params}: review training/answer_loss.py against the new trl")


def test_trls_config_still_has_the_nll_loss_type():
    from trl import SFTConfig

    fields = {f.name: f for f in dataclasses.fields(SFTConfig)}
    assert "loss_type" in fields, "trl's SFTConfig has no loss_type any more: review training/answer_loss.py"
    assert fields["loss_type"].default == "nll"


def test_the_trainer_attributes_it_reads_exist_on_trls_trainer(trainer_and_batch):
    """Read directly in :func:`answer_only_target` / ``compute_loss``: a rename in trl would make the override raise,
    and this test says which one."""
    trainer, _ = trainer_and_batch
    missing = [a for a in answer_loss.TRL_TRAINER_ATTRIBUTES if not hasattr(trainer, a)]
    assert not missing, f"trl's SFTTrainer lacks {missing}: review training/answer_loss.py against the new trl"
    assert isinstance(trainer.aux_loss_enabled, bool)
    trainer._metrics["train"]["mean_token_accuracy"].append(0.5)  # per-mode buffers of lists, created on use
    assert trainer._metrics["train"]["mean_token_accuracy"][-1] == 0.5
    config = trainer.model.get_base_model().config.get_text_config()
    assert not any(getattr(config, k, None) not in (None, 1.0) for k in answer_loss.LOGIT_SCALING_KEYS)


def test_answer_only_head_gives_trls_loss_and_gradients(trainer_and_batch):
    """On CPU the project's trainer projects only the answer positions through the LM head; the loss and the LoRA
    gradients must be those of trl's own loss (which scores every position there) on the same batch."""
    from trl import SFTTrainer

    trainer, batch = trainer_and_batch
    assert (batch["labels"] == -100).any() and (batch["labels"] != -100).any()  # prompt masked, answer kept
    peft_model = trainer.model
    assert answer_loss.answer_only_target(trainer, peft_model, batch) is not None, \
        "the answer-only path must run on CPU"

    def loss_and_grads(compute):
        peft_model.zero_grad()
        loss = compute(dict(batch))
        loss.backward()
        return float(loss.detach()), {n: p.grad.clone() for n, p in peft_model.named_parameters() if p.requires_grad}

    ours, ours_grads = loss_and_grads(lambda b: trainer.compute_loss(peft_model, b))
    trl, trl_grads = loss_and_grads(lambda b: SFTTrainer.compute_loss(trainer, peft_model, b))
    assert ours == pytest.approx(trl, rel=1e-5)
    assert ours_grads.keys() == trl_grads.keys() and any(g.abs().sum() > 0 for g in trl_grads.values())
    for name, grad in trl_grads.items():
        torch.testing.assert_close(ours_grads[name], grad, rtol=1e-3, atol=1e-5)  # fp32 summation order
    assert trainer._metrics["train"]["mean_token_accuracy"], "the token accuracy reaches trl's log line"


def test_a_batch_trl_would_score_differently_takes_trls_loss(trainer_and_batch):
    trainer, batch = trainer_and_batch
    assert answer_loss.answer_only_target(trainer, trainer.model, {k: v for k, v in batch.items()
                                                                   if k != "labels"}) is None
    trainer.aux_loss_enabled = True
    assert answer_loss.answer_only_target(trainer, trainer.model, batch) is None
