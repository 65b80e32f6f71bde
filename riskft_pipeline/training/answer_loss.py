"""The CPU answer-only loss: trl's ``SFTTrainer`` with the loss's LM head run only at the answer positions.

trl 1.16 computes the loss through a fused, tiled LM head that scores only the labelled positions on Triton devices
(CUDA) but *every* position elsewhere (its compact path needs Triton), plus the entropy of each: on CPU that is the
49k-way head over the whole prompt, whose logits the loss never reads. Here, on CPU and outside DDP, the backbone runs
once and the head projects only the positions with a label; the loss is the same sum of cross-entropies over the same
tokens divided by the same count (measured: same loss values, 1.3x the tokens/s of the trl path,
``benchmarks/bench_training.py``). Anything unusual (CUDA, DDP, other loss types, logit scaling) goes to trl's own
loss.

What it relies on in trl / transformers is listed in :data:`TRL_TRAINER_ATTRIBUTES`, :data:`COMPUTE_LOSS_PARAMETERS`
and :data:`LOGIT_SCALING_KEYS`, read directly (no ``getattr`` default): a trl upgrade that renames one fails here, and
``riskft_pipeline_tests/training/test_answer_loss.py`` checks them against the installed trl.
"""

from __future__ import annotations

#: ``SFTTrainer.compute_loss``'s parameters, which the subclass overrides and forwards.
COMPUTE_LOSS_PARAMETERS = ("self", "model", "inputs", "return_outputs", "num_items_in_batch")
#: Trainer instance attributes read to decide whether trl's loss would differ from a plain token cross-entropy
#: (``_metrics``: trl's per-mode log buffers, where the token accuracy goes).
TRL_TRAINER_ATTRIBUTES = ("args", "label_smoother", "compute_loss_func", "aux_loss_enabled", "_metrics")
#: Model-config keys that rescale logits: any of them set to other than 1 sends the batch to trl's loss.
LOGIT_SCALING_KEYS = ("final_logit_softcapping", "logit_scale", "output_multiplier", "lm_head_multiplier",
                      "logits_scaling")


def answer_head_trainer():
    """The ``SFTTrainer`` subclass whose ``compute_loss`` takes the answer-only path when
    :func:`answer_only_target` allows it, else trl's own loss."""
    from trl import SFTTrainer

    class AnswerHeadSFTTrainer(SFTTrainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            causal_lm = answer_only_target(self, model, inputs)
            if causal_lm is None:
                return super().compute_loss(model, inputs, return_outputs=return_outputs,
                                            num_items_in_batch=num_items_in_batch)
            loss, correct, counted = answer_only_loss(causal_lm, inputs, num_items_in_batch)
            mode = "train" if model.training else "eval"
            # trl's log line keeps its token accuracy (no entropy: it needs every logit)
            self._metrics[mode]["mean_token_accuracy"].append(correct / counted if counted else 0.0)
            return (loss, None) if return_outputs else loss

    return AnswerHeadSFTTrainer


def answer_only_target(trainer, model, inputs):
    """The PEFT-wrapped causal LM when the answer-only loss applies to this batch, else None (trl's loss runs)."""
    import torch

    if "labels" not in inputs or isinstance(model, torch.nn.parallel.DistributedDataParallel):
        return None
    if trainer.args.loss_type != "nll" or trainer.label_smoother is not None \
            or trainer.compute_loss_func is not None or trainer.aux_loss_enabled:
        return None
    causal_lm = model.get_base_model() if hasattr(model, "get_base_model") else model
    config = causal_lm.config.get_text_config()
    if any(getattr(config, k, None) not in (None, 1.0) for k in LOGIT_SCALING_KEYS):  # absent = not scaled
        return None
    if causal_lm.get_output_embeddings().weight.device.type == "cuda":
        return None  # trl scores only the labelled positions on Triton devices; the H100 figures ran its loss
    return causal_lm


def answer_only_loss(causal_lm, inputs: dict, num_items_in_batch=None):
    """(loss, correct top-1 answer tokens, answer tokens): next-token cross-entropy summed over labelled positions,
    divided by ``num_items_in_batch`` (the Trainer's count over the accumulated batch) or by this batch's count."""
    import torch
    import torch.nn.functional as F

    backbone = getattr(causal_lm, causal_lm.base_model_prefix)
    kwargs = {k: v for k, v in inputs.items() if k != "labels"}
    kwargs["use_cache"] = False
    hidden = backbone(**kwargs).last_hidden_state[:, :-1]
    target = inputs["labels"][:, 1:]
    keep = target != -100
    logits = causal_lm.get_output_embeddings()(hidden[keep]).float()
    target = target[keep]
    total = F.cross_entropy(logits, target, reduction="sum")
    denom = num_items_in_batch if num_items_in_batch is not None else keep.sum().clamp(min=1)
    with torch.no_grad():
        correct = int((logits.argmax(-1) == target).sum())
    return total / denom, correct, int(target.numel())
