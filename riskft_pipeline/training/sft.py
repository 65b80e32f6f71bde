"""LoRA supervised fine-tuning: a recipe and a chat-JSONL data folder in, an adapter folder out.

Task-agnostic: every line of ``DIR/train.jsonl`` is ``{"id", "messages": [..., assistant]}``; the loss is on the last
(assistant) turn only. trl's ``SFTTrainer`` does the training; this module prepares the examples itself so it can
drop-and-count over-long ones (never cut an answer) and prove every example keeps label tokens.

Runs as ``python -m riskft_pipeline.training.sft --recipe FILE --data DIR --out DIR``, also under
``accelerate launch`` / ``torchrun`` (DDP; only rank 0 writes the adapter). No Dagster or MLflow import: metrics reach
a tracker through ``callbacks``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from riskft_pipeline.core.adapter_files import ADAPTER_META
from riskft_pipeline.core.config import Recipe, load_recipe, recipe_dict, recipe_hash
from riskft_pipeline.core.errors import InputError
from riskft_pipeline.core.files import atomic_dir, read_jsonl, sha256_file, write_json
from riskft_pipeline.core.tasks import TASKS
from riskft_pipeline.training.answer_loss import answer_head_trainer
from riskft_pipeline.training.base_model import load_base
from riskft_pipeline.training.chat import check_label_tokens, encode_example

RUN_KEY_FILE = "riskft_run_key.json"
LogCallback = Callable[[int, dict], None]
StepCallback = Callable[[int, int], None]  # (global step, max steps) after every optimiser step, rank 0 only


# --- data ------------------------------------------------------------------------------------------------------


def read_split(path: Path) -> list[dict]:
    if not path.is_file():
        raise InputError(f"training data not found: {path} (expected the output of `riskft tickets prepare`)")
    rows = read_jsonl(path)
    if not rows:
        raise InputError(f"{path} has no examples")
    for n, row in enumerate(rows, 1):
        if not isinstance(row.get("messages"), list):
            raise InputError(f"{path}:{n}: no 'messages' list")
    return rows


def sample_rows(rows: list[dict], limit: int | None, seed: int) -> list[dict]:
    """A seeded sample (in file order) when the recipe caps the examples: the file may be sorted by date."""
    if limit is None or limit >= len(rows):
        return rows
    keep = sorted(random.Random(seed).sample(range(len(rows)), limit))
    return [rows[i] for i in keep]


def training_rows(recipe: Recipe, train_file: Path) -> list[dict]:
    """The recipe's training examples: its seeded sample of ``train_file``, with the retrieval hints the task's
    prompts carry (labels of the most similar other training rows) when the recipe asks for them."""
    t = recipe.train
    all_rows = read_split(train_file)
    rows = sample_rows(all_rows, t.max_train_examples, t.seed)
    if TASKS[recipe.task].retrieval_hints and t.retrieval_k:
        from riskft_pipeline.core.tickets.retrieval import hinted_training_rows

        position = {id(r): i for i, r in enumerate(all_rows)}
        rows = hinted_training_rows(rows, all_rows, [position[id(r)] for r in rows], t.retrieval_k)
    return rows


def encode_rows(tokenizer, rows: Sequence[dict], max_length: int) -> tuple[list[dict], int]:
    """Tokenised examples within ``max_length`` and the number dropped for being longer (an answer is never cut)."""
    kept, ids, dropped = [], [], 0
    for n, row in enumerate(rows):
        ex = encode_example(tokenizer, row["messages"])
        if len(ex["input_ids"]) > max_length:
            dropped += 1
            continue
        kept.append(ex)
        ids.append(row.get("id", n))
    check_label_tokens(kept, ids)
    if not kept:
        raise InputError(f"every training example is longer than max_length={max_length} tokens; raise it")
    return kept, dropped


# --- checkpoints -----------------------------------------------------------------------------------------------


def _step(ckpt: Path) -> int:
    try:
        return int(ckpt.name.rsplit("-", 1)[1])
    except (IndexError, ValueError):
        return -1


def is_complete_checkpoint(ckpt: Path) -> bool:
    """HF writes a checkpoint folder file by file, trainer_state.json last; a folder killed mid-write lacks it, or
    holds it half-written, or lacks the adapter/optimizer. Only a folder with all of them parsed is resumable."""
    needed = ("adapter_model.safetensors", "optimizer.pt", "scheduler.pt")
    if not all((ckpt / name).is_file() for name in needed):
        return False
    try:
        state = json.loads((ckpt / "trainer_state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return state.get("global_step") == _step(ckpt)


def last_complete_checkpoint(ckpt_dir: Path) -> Path | None:
    candidates = sorted((p for p in ckpt_dir.glob("checkpoint-*") if p.is_dir() and _step(p) >= 0), key=_step)
    complete = [p for p in candidates if is_complete_checkpoint(p)]
    return complete[-1] if complete else None


def prepare_checkpoints(ckpt_dir: Path, run_key: str, resume: bool) -> Path | None:
    """The checkpoint to resume from, if any. Incomplete folders are removed (a later save of the same step must not
    mix with their leftovers); checkpoints of another recipe or data are discarded, not resumed."""
    stored = ckpt_dir / RUN_KEY_FILE
    same_run = stored.is_file() and json.loads(stored.read_text(encoding="utf-8")).get("key") == run_key
    if not resume or not same_run:
        shutil.rmtree(ckpt_dir, ignore_errors=True)
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    write_json(stored, {"key": run_key})
    for p in ckpt_dir.glob("checkpoint-*"):
        if p.is_dir() and not is_complete_checkpoint(p):
            shutil.rmtree(p, ignore_errors=True)
    return last_complete_checkpoint(ckpt_dir)


# --- trainer ---------------------------------------------------------------------------------------------------


def build_sft_config(recipe: Recipe, ckpt_dir: Path, progress: bool):
    import torch
    from trl import SFTConfig

    t = recipe.train
    padding_free = t.padding_free or t.packing
    # examples are pre-tokenised and over-long ones dropped; trl refuses max_length with padding-free unless packing
    # (where it is the packed row length)
    max_length = None if t.padding_free and not t.packing else t.max_length
    use_cuda = torch.cuda.is_available()
    return SFTConfig(
        output_dir=str(ckpt_dir),
        seed=t.seed,
        data_seed=t.seed,
        num_train_epochs=t.epochs,
        max_steps=t.max_steps,
        per_device_train_batch_size=t.per_device_batch_size,
        gradient_accumulation_steps=t.gradient_accumulation_steps,
        learning_rate=t.learning_rate,
        lr_scheduler_type=t.lr_scheduler_type,
        warmup_steps=t.warmup_ratio,
        weight_decay=t.weight_decay,
        # SFTConfig turns checkpointing on by default (it costs ~30% speed); the recipe decides, explicitly
        activation_checkpointing=t.gradient_checkpointing,
        activation_checkpointing_kwargs={"use_reentrant": False} if t.gradient_checkpointing else None,
        bf16=t.bf16,
        max_length=max_length,
        packing=t.packing,
        padding_free=t.padding_free,
        train_sampling_strategy="group_by_length" if t.group_by_length and not padding_free else "random",
        completion_only_loss=True,
        save_strategy="steps",
        save_steps=t.save_steps,
        save_total_limit=t.save_total_limit,
        logging_steps=t.logging_steps,
        logging_first_step=True,
        # padding-free rows hold no padding; counting "non_padding" there compares with the pad token, which is
        # <|im_end|> for SmolLM2 and would drop every turn's end from the count
        include_num_input_tokens_seen="all" if padding_free else "non_padding",
        disable_tqdm=not progress,
        report_to="none",
        eval_strategy="no",
        dataloader_pin_memory=use_cuda,
        use_cpu=not use_cuda,  # without it, CPU ranks under torchrun train alone instead of data-parallel
        ddp_backend="gloo" if not use_cuda and int(os.environ.get("WORLD_SIZE", "1")) > 1 else None,
        ddp_find_unused_parameters=False,
    )


def use_varlen_attention(model, t) -> bool:
    """Padding-free rows on the CPU attend per example (:mod:`~riskft_pipeline.training.varlen`) instead of through
    sdpa's dense block-diagonal mask; True when switched. CUDA keeps the recipe's attention (not measured there)."""
    if not (t.padding_free or t.packing) or model.device.type != "cpu" \
            or model.config._attn_implementation != "sdpa":
        return False
    from riskft_pipeline.training import varlen

    model.set_attn_implementation(varlen.register())
    return True


def _lora_config(recipe: Recipe, model):
    from peft import LoraConfig

    lc = recipe.lora
    target, layers = lc.target_modules, None
    if lc.top_layers:
        blocks = decoder_layers(model)
        if lc.top_layers > len(blocks):
            raise InputError(f"lora.top_layers={lc.top_layers} but the base model has {len(blocks)} decoder layers")
        layers = list(range(len(blocks) - lc.top_layers, len(blocks)))
        if target == "all-linear":  # peft takes a layer list only with explicit module names
            target = linear_names(blocks[0])
    return LoraConfig(r=lc.r, lora_alpha=lc.alpha, lora_dropout=lc.dropout, target_modules=target,
                      layers_to_transform=layers, bias="none", task_type="CAUSAL_LM")


def decoder_layers(model):
    """The model's stack of decoder blocks (``model.model.layers`` for Llama/Qwen/Mistral-style models)."""
    import torch

    found = [m for name, m in model.named_modules()
             if isinstance(m, torch.nn.ModuleList) and name.split(".")[-1] in ("layers", "h", "blocks")]
    if len(found) != 1:
        raise InputError("lora.top_layers needs a model with one stack of decoder layers; found "
                         f"{len(found)} candidate lists")
    return found[0]


def linear_names(block) -> list[str]:
    """The names of a decoder block's linear layers (what peft's ``all-linear`` targets inside the block)."""
    import torch

    return sorted({name.split(".")[-1] for name, m in block.named_modules() if isinstance(m, torch.nn.Linear)})


_trainer_class = answer_head_trainer  # the name benchmarks/bench_training.py imports


def _log_callback(callbacks: Sequence[LogCallback], clock: dict, on_step: StepCallback | None = None):
    """Forward trainer logs to plain callables (rank 0 only) and note where this session's token count starts;
    ``on_step(step, max_steps)`` after each optimiser step (a progress display; the caller throttles)."""
    from transformers import TrainerCallback

    class _Forward(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            clock["tokens0"], clock["step0"] = state.num_input_tokens_seen, state.global_step

        def on_log(self, args, state, control, logs=None, **kwargs):
            if state.is_world_process_zero and logs:
                for cb in callbacks:
                    cb(state.global_step, dict(logs))

        def on_step_end(self, args, state, control, **kwargs):
            if on_step is not None and state.is_world_process_zero:
                on_step(state.global_step, state.max_steps)

    return _Forward()


def _run_key(recipe: Recipe, train_file: Path) -> str:
    return f"{recipe_hash(recipe)[:16]}-{sha256_file(train_file)[:16]}"


def library_versions() -> dict[str, str]:
    import accelerate
    import datasets
    import peft
    import torch
    import transformers
    import trl

    mods = {"torch": torch, "transformers": transformers, "peft": peft, "trl": trl, "accelerate": accelerate,
            "datasets": datasets}
    return {"python": platform.python_version(), **{k: m.__version__ for k, m in mods.items()}}


def train(recipe: Recipe, data_dir: Path, out_dir: Path, *, callbacks: Sequence[LogCallback] = (),
          resume: bool = True, progress: bool = True, on_step: StepCallback | None = None) -> dict:
    """Fine-tune ``recipe.base_model`` with LoRA on ``data_dir/train.jsonl``; returns the result summary (also
    written into ``out_dir/adapter/riskft_adapter.json``). Restarted with ``resume=True`` it continues from the last
    complete checkpoint under ``out_dir/checkpoints``. ``callbacks`` receive the trainer's logs (loss, ...) as
    ``cb(step, logs)``; ``on_step(step, max_steps)`` is called after every step (plain callables: no tracker or
    orchestrator import here)."""
    import torch
    from datasets import Dataset
    from transformers import set_seed

    data_dir, out_dir = Path(data_dir), Path(out_dir)
    t = recipe.train
    if t.num_threads:
        torch.set_num_threads(t.num_threads)
    if torch.cuda.is_available():
        # cuDNN's SDPA backend builds a new execution plan for every new (batch, length) shape: with variable-length
        # batches that cost ~19 ms of CPU per layer per step on an H100 (profiled, 3B model: 60% of the step).
        # Flash / memory-efficient SDPA kernels take any shape at no planning cost.
        torch.backends.cuda.enable_cudnn_sdp(False)
    set_seed(t.seed)
    train_file = data_dir / "train.jsonl"
    rows = training_rows(recipe, train_file)
    model, tokenizer, identity = load_base(recipe.base_model, for_training=True)
    use_varlen_attention(model, t)
    if recipe.base_model.load_in_4bit:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=t.gradient_checkpointing)
    examples, n_dropped = encode_rows(tokenizer, rows, t.max_length)
    dataset = Dataset.from_list(examples)

    ckpt_dir = out_dir / "checkpoints"
    args = build_sft_config(recipe, ckpt_dir, progress)  # under torchrun this initialises the process group
    resume_from = _choose_checkpoint(ckpt_dir, _run_key(recipe, train_file), resume)
    clock: dict = {}
    trainer = answer_head_trainer()(model=model, args=args, train_dataset=dataset,
                               processing_class=tokenizer, peft_config=_lora_config(recipe, model),
                               callbacks=[_log_callback(callbacks, clock, on_step)])
    t0 = time.perf_counter()
    output = trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    runtime = time.perf_counter() - t0

    state = trainer.state
    tokens = state.num_input_tokens_seen - clock.get("tokens0", 0)
    result = {
        "steps": state.global_step,
        "steps_this_session": state.global_step - clock.get("step0", 0),
        "resumed_from_step": _step(resume_from) if resume_from else None,
        "epochs": state.epoch,
        "train_runtime_s": round(runtime, 2),
        "tokens_seen_this_session": tokens,
        "tokens_per_s": round(tokens / runtime, 2) if runtime > 0 else None,
        "final_loss": _last_loss(state.log_history),
        "mean_train_loss": output.training_loss,
        "loss_curve": [(h["step"], h["loss"]) for h in state.log_history if "loss" in h],
        "n_train_examples": len(examples),
        "n_dropped_too_long": n_dropped,
        "n_train_tokens": sum(len(e["input_ids"]) for e in examples),
        "seed": t.seed,
        "base_model": identity,
        "library_versions": library_versions(),
        "train_file_sha256": sha256_file(train_file),
    }
    adapter_dir = out_dir / "adapter"
    if trainer.is_world_process_zero():
        _save_adapter(trainer, tokenizer, recipe, result, adapter_dir)
    result["adapter_dir"] = str(adapter_dir)
    return result


def _last_loss(history: list[dict]) -> float | None:
    losses = [h["loss"] for h in history if "loss" in h]
    return losses[-1] if losses else None


def _is_rank0() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def _choose_checkpoint(ckpt_dir: Path, run_key: str, resume: bool) -> Path | None:
    """Rank 0 cleans the checkpoint folder and picks the checkpoint; under DDP the other ranks wait and follow."""
    from accelerate import PartialState
    from accelerate.utils import broadcast_object_list

    state = PartialState()
    box = [None]
    if state.is_main_process:
        found = prepare_checkpoints(ckpt_dir, run_key, resume)
        box = [str(found) if found else None]
    if state.num_processes > 1:
        broadcast_object_list(box, from_process=0)
    return Path(box[0]) if box[0] else None


def _save_adapter(trainer, tokenizer, recipe: Recipe, result: dict, adapter_dir: Path) -> None:
    """Adapter weights + tokenizer + generation config (eos copied, so the loaded model stops where training taught
    it to) + ``riskft_adapter.json``, renamed into place only when complete."""
    model = trainer.model
    gen = model.generation_config
    eos = tokenizer.eos_token_id
    if isinstance(gen.eos_token_id, list):
        gen.eos_token_id = gen.eos_token_id if eos in gen.eos_token_id else [eos, *gen.eos_token_id]
    else:
        gen.eos_token_id = eos
    gen.pad_token_id = tokenizer.pad_token_id
    with atomic_dir(adapter_dir) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        gen.save_pretrained(tmp)
        write_json(tmp / ADAPTER_META, adapter_metadata(recipe, result))


def adapter_metadata(recipe: Recipe, result: dict) -> dict:
    summary = {k: v for k, v in result.items() if k not in ("base_model", "loss_curve")}
    return {
        "task": recipe.task,
        "base_model": {"identity": result["base_model"], "config": recipe.base_model.model_dump(mode="json")},
        "recipe": recipe_dict(recipe),
        "recipe_hash": recipe_hash(recipe),
        "train": summary,
        "loss_curve": result["loss_curve"],
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="LoRA fine-tune a base model on a chat-JSONL folder.")
    parser.add_argument("--recipe", required=True, type=Path, help="recipe YAML (configs/*.yaml)")
    parser.add_argument("--data", required=True, type=Path, help="folder with train.jsonl")
    parser.add_argument("--out", required=True, type=Path, help="run folder: checkpoints/ and adapter/")
    parser.add_argument("--no-resume", action="store_true", help="start over, discarding checkpoints")
    args = parser.parse_args(argv)
    result = train(load_recipe(args.recipe), args.data, args.out, resume=not args.no_resume)
    if _is_rank0():
        summary = {k: v for k, v in result.items() if k != "loss_curve"}
        print(json.dumps(summary, indent=2, default=str))
    return 0


def _entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    _entry()
