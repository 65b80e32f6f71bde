"""Training throughput on CPU: the default ticket recipe's training (``training.sft.train``) against a naive setup on
the same model, the same tokenised examples, the same LoRA, batch size and step count.

Naive = what a first notebook does: ``SFTConfig`` defaults for the speed settings (gradient checkpointing on), every
batch padded to the longest example of the dataset, random order (no length grouping), and the plain
``transformers.Trainer`` loss, which computes the logits at every position. Both count only real (non-padding) tokens
in tokens/s.

Full mode also measures the levers one at a time (each a separate run from the naive setup), among them the loss
heads: trl 1.16's own loss (a fused, tiled LM head, which off Triton devices still scores every position) and the
project's (``sft.py``: the LM head only at the answer positions; the loss ignores the prompt's logits, and with a 49k
vocabulary they are a large share of the step); and it reports the validation loss of the naive and project adapters
(same quality is part of the target).

Quality (full mode, or ``--quality``): the naive setup and the project each train the whole recipe (one epoch), and
both adapters generate for the recipe's test tickets, scored as the evaluation asset scores them (mean field
accuracy, valid-JSON rate): the speed-up must not cost quality.

The scaling curve (full mode, or ``--curve N ...`` in any mode) trains the default recipe as the pipeline does
(``sft.train``: one epoch, checkpoints as configured) on a seeded sample of N training examples for each N, and prints
training seconds against examples, with a PNG in ``benchmarks/out/training_scaling.png``.

The sequence-length curve (full mode, or ``--seq-curve L ...`` in any mode) trains the default recipe (``sft.train``,
the mode's steps and batch size) on examples of about L tokens for each L: the benchmark's ticket examples with the
user turn (ticket text and its retrieval hints) repeated or cut to fit, the system prompt and answer untouched so the
loss is the task's; it prints tokens/s and seconds per step against L, with a PNG in
``benchmarks/out/training_seq_length.png``. The shortest L is about 120 tokens: the system prompt and the longest
answers alone take up to 118.

    python benchmarks/bench_training.py            # 40 steps per run, levers, validation loss, both curves
    python benchmarks/bench_training.py --quick    # 20 steps each, naive vs project
    python benchmarks/bench_training.py --quick --curve 30 60 120 240   # + the examples curve only
    python benchmarks/bench_training.py --quick --seq-curve 128 256 512 1024   # + the sequence-length curve only
    python benchmarks/bench_training.py --quick --quality   # + whole-recipe training and test accuracy of both
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import benchdata
import benchlib
from benchlib import Ratio, Timer, say

NAME = "training"
TARGET = 4.0
SETTINGS = {"smoke": (1, 2, False), "quick": (20, None, False), "full": (40, None, True)}  # steps, batch, levers
CURVE = {"smoke": [4], "quick": [], "full": [30, 60, 120, 240]}  # training examples per point of the curve
SEQ_CURVE = {"smoke": [128], "quick": [], "full": [128, 256, 512, 1024]}  # tokens per example, sequence-length curve
VAL_EXAMPLES = 64


def default_recipe(steps: int, batch_size: int | None):
    """``configs/tickets_cpu.yaml`` (the pipeline's default), run for ``steps`` optimizer steps, no checkpoints."""
    from riskft_pipeline import paths
    from riskft_pipeline.core.config import Recipe, load_recipe

    path = paths.configs_dir() / "tickets_cpu.yaml"
    recipe = load_recipe(path) if path.is_file() else Recipe(name="tickets-defaults")
    train = {"max_steps": steps, "save_steps": 10**6, "logging_steps": max(1, steps // 5)}
    if batch_size:
        train["per_device_batch_size"] = batch_size
    recipe = recipe.model_copy(update={"train": recipe.train.model_copy(update=train)})
    return recipe, path.name if path.is_file() else "Recipe() defaults (configs/tickets_cpu.yaml absent)"


def examples(recipe, data_dir: Path) -> list[dict]:
    """The tokenised training examples exactly as ``sft.train`` builds them (same sample, same drops)."""
    from riskft_pipeline.training.sft import encode_rows, training_rows

    return encode_rows(tokenizer_of(recipe), training_rows(recipe, data_dir / "train.jsonl"),
                       recipe.train.max_length)[0]


def tokenizer_of(recipe):
    """The recipe's tokenizer as ``sft.train`` loads it (right padding)."""
    from riskft_pipeline.training.base_model import load_tokenizer, resolve_base

    return load_tokenizer(resolve_base(recipe.base_model).path, padding_side="right")


class FullLogits:
    """Mixin for SFTTrainer: the plain ``transformers.Trainer`` loss, ``model(**inputs)`` with labels, which computes
    the LM head (a 49k-way projection) at every position of the batch and the loss from those full logits. The
    project's loss (``sft.py``, on CPU) projects only the positions with a label."""

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        from transformers import Trainer

        return Trainer.compute_loss(self, model, inputs, return_outputs=return_outputs,
                                    num_items_in_batch=num_items_in_batch)


def run_variant(recipe, data: list[dict], out: Path, *, checkpointing: bool, pad_to_longest: bool,
                group: bool, head: str, threads: int, top_layers: int | None = None, bf16: bool = False) -> dict:
    """One training run built from the project's own pieces, with the speed settings chosen explicitly (LoRA on
    every decoder layer unless ``top_layers`` says otherwise, fp32 unless ``bf16``, whatever the recipe says)."""
    import torch
    from datasets import Dataset
    from trl import SFTTrainer
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    from riskft_pipeline.training.base_model import load_base
    from riskft_pipeline.training.sft import _lora_config, _trainer_class, build_sft_config

    torch.set_num_threads(threads)
    t = recipe.train.model_copy(update={"gradient_checkpointing": checkpointing, "group_by_length": group, "bf16": bf16,
                                        "num_threads": None, "padding_free": False, "packing": False})
    recipe = recipe.model_copy(update={"train": t, "lora": recipe.lora.model_copy(update={"top_layers": top_layers})})
    model, tokenizer, _ = load_base(recipe.base_model, for_training=True)
    longest = max(len(e["input_ids"]) for e in data)
    collator = DataCollatorForLanguageModeling(pad_token_id=tokenizer.pad_token_id,
                                               pad_to_multiple_of=longest if pad_to_longest else None)
    trainer_cls = {"full": type("Trainer", (FullLogits, SFTTrainer), {}), "trl": SFTTrainer,
                   "answer": _trainer_class()}[head]
    trainer = trainer_cls(model=model, args=build_sft_config(recipe, out / "checkpoints", progress=False),
                          train_dataset=Dataset.from_list(data), processing_class=tokenizer,
                          peft_config=_lora_config(recipe, model), data_collator=collator)
    with Timer() as timer:
        trainer.train()
    tokens = trainer.state.num_input_tokens_seen
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    return {"seconds": timer.s, "tokens": tokens, "tokens_per_s": tokens / timer.s, "final_loss": losses[-1],
            "model": trainer.model, "tokenizer": tokenizer}


def run_project(recipe, data_dir: Path, out: Path, threads: int) -> dict:
    """``sft.train`` as the pipeline calls it (the recipe's own thread setting wins when it has one)."""
    import torch

    from riskft_pipeline.training.sft import train

    torch.set_num_threads(threads)
    result = train(recipe, data_dir, out, resume=False, progress=False)
    return {"seconds": result["train_runtime_s"], "tokens": result["tokens_seen_this_session"],
            "tokens_per_s": result["tokens_per_s"], "final_loss": result["final_loss"],
            "adapter": result["adapter_dir"]}


def val_loss(model, tokenizer, data_dir: Path, n: int) -> float:
    """Mean loss per answer token on the first ``n`` validation examples (teacher forcing, batches of 8)."""
    import torch

    from riskft_pipeline.core.files import read_jsonl
    from riskft_pipeline.training.chat import encode_example

    rows = read_jsonl(data_dir / "val.jsonl")[:n]
    encoded = [encode_example(tokenizer, r["messages"]) for r in rows]
    total, count = 0.0, 0
    model.eval()
    with torch.inference_mode():
        for i in range(0, len(encoded), 8):
            batch = encoded[i:i + 8]
            width = max(len(e["input_ids"]) for e in batch)
            ids = torch.full((len(batch), width), tokenizer.pad_token_id)
            labels = torch.full((len(batch), width), -100)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for row, e in enumerate(batch):
                n_tok = len(e["input_ids"])
                ids[row, :n_tok], labels[row, :n_tok], mask[row, :n_tok] = (
                    torch.tensor(e["input_ids"]), torch.tensor(e["labels"]), 1)
            logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
            target = labels[:, 1:]
            loss = torch.nn.functional.cross_entropy(logits.transpose(1, 2), target, reduction="sum")
            total += float(loss)
            count += int((target != -100).sum())
    return total / count


def project_val_loss(adapter_dir: str, data_dir: Path, n: int) -> float:
    from riskft_pipeline.training.infer import load_for_inference

    model, tokenizer = load_for_inference(Path(adapter_dir))
    tokenizer.padding_side = "right"
    return val_loss(model, tokenizer, data_dir, n)


NAIVE_SETTINGS = {"checkpointing": True, "pad_to_longest": True, "group": False, "head": "full"}
LEVERS = [  # name, the one setting changed from naive
    ("naive + trl's loss (fused head, every position on CPU)", {"head": "trl"}),
    ("naive + LM head on answer tokens only (sft.py's loss)", {"head": "answer"}),
    ("naive + no gradient checkpointing", {"checkpointing": False}),
    ("naive + pad per batch", {"pad_to_longest": False}),
    ("naive + pad per batch + length grouping", {"pad_to_longest": False, "group": True}),
    ("naive + LoRA on the top 15 of 30 layers", {"top_layers": 15}),
    ("naive + LoRA on the top 8 of 30 layers", {"top_layers": 8}),
    ("naive + bf16 autocast (AMX on this CPU)", {"bf16": True}),
]
#: the default recipe with the levers that change what is learned (not only how fast), alone and combined: these
#: become a default only where their test quality holds (docs/quality.md, RESULTS.md); and the recipe without its
#: padding-free rows (same loss, tested: what they are worth)
COMBINED = [
    ("project + bf16 autocast", {"bf16": True}),
    ("project + LoRA on the top 15 layers", {"top_layers": 15}),
    ("project + bf16 + top 15 layers", {"bf16": True, "top_layers": 15}),
    ("project + padded batches instead (padding_free off)", {"padding_free": False}),
]


NAIVE = "naive (full logits, SFTConfig defaults, pad to dataset's longest)"


def combined_runs(words: list[str] | None, mode: str) -> list[tuple[str, dict]]:
    """The :data:`COMBINED` runs asked for: all in full mode or with a bare ``--combined``, else those whose name
    contains one of ``words``."""
    if words is None:
        return COMBINED if mode == "full" else []
    chosen = [(name, s) for name, s in COMBINED if not words or any(w in name for w in words)]
    if not chosen:
        raise SystemExit(f"--combined {' '.join(words)}: no combination matches; they are: "
                         + "; ".join(name for name, _ in COMBINED))
    return chosen


def measure(recipe, recipe_name: str, threads: int, with_levers: bool,
            combined: list[tuple[str, dict]] = ()) -> dict:
    """Naive and project runs (then, in full mode, each lever and both validation losses; then the project recipe
    with each of ``combined``'s settings, from :data:`COMBINED`) on the same examples."""
    steps = recipe.train.max_steps
    out: dict = {}
    with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp_name:
        tmp = Path(tmp_name)
        data_dir = benchdata.ticket_data(tmp / "data")
        data = examples(recipe, data_dir)
        out["lengths"] = sorted(len(e["input_ids"]) for e in data)
        say(f"naive: {steps} steps")
        naive = run_variant(recipe, data, tmp / "naive", threads=threads, **NAIVE_SETTINGS)
        say(f"project ({recipe_name}): {steps} steps")
        project = run_project(recipe, data_dir, tmp / "project", threads)
        runs = {NAIVE: naive, f"project ({recipe_name})": project}
        for name, settings in combined:
            say(f"{name}: {steps} steps")
            lora = recipe.lora.model_copy(update={"top_layers": settings.get("top_layers")})
            variant = recipe.model_copy(update={"lora": lora, "train": recipe.train.model_copy(
                update={"bf16": settings.get("bf16", False),
                        "padding_free": settings.get("padding_free", recipe.train.padding_free)})})
            runs[name] = run_project(variant, data_dir, tmp / f"combined-{len(runs)}", threads)
        if with_levers:
            for name, settings in LEVERS:
                say(f"lever: {name}")
                runs[name] = run_variant(recipe, data, tmp / f"lever-{len(runs)}", threads=threads,
                                         **{**NAIVE_SETTINGS, **settings})
            say("validation loss of the naive and project adapters")
            out["val_loss"] = {"naive": val_loss(naive["model"], naive["tokenizer"], data_dir, VAL_EXAMPLES),
                               "project": project_val_loss(project["adapter"], data_dir, VAL_EXAMPLES)}
    out["runs"] = {name: {k: v for k, v in r.items() if k not in ("model", "tokenizer", "adapter")}
                   for name, r in runs.items()}
    return out


def test_quality(model, tokenizer, data_dir: Path, recipe) -> dict:
    """Mean field accuracy and valid-JSON rate on the recipe's test sample, generated and scored as
    ``evaluate_tickets`` does (merged weights, batched greedy generation, the same parser and metrics)."""
    from riskft_pipeline.core.tickets.prompts import parse_answer
    from riskft_pipeline.training.evaluate import _expected, _field_predictions, _valid_rate, build_report
    from riskft_pipeline.training.infer import generate
    from riskft_pipeline.training.sft import read_split, sample_rows

    ev = recipe.eval
    test = sample_rows(read_split(data_dir / "test.jsonl"), ev.max_test_examples, recipe.train.seed)
    texts = generate(model.eval(), tokenizer, [r["messages"][:-1] for r in test], batch_size=ev.batch_size,
                     max_new_tokens=ev.max_new_tokens, progress=False)
    parsed = [parse_answer(t) for t in texts]
    report = build_report([_expected(r) for r in test], {"model": _field_predictions(parsed)},
                          {"model": _valid_rate(parsed)}, {})
    return {"mean_field_accuracy": report["mean_field_accuracy"]["model"], "valid_json_rate": _valid_rate(parsed),
            "n_test": len(test)}


def quality(threads: int) -> dict:
    """The naive setup and the project each train the default recipe in full (its epochs, as ``make run`` does);
    both adapters are then scored on the recipe's test tickets. Same examples, same step count."""
    import gc

    from riskft_pipeline import paths
    from riskft_pipeline.core.config import load_recipe
    from riskft_pipeline.training.infer import load_for_inference

    recipe = load_recipe(paths.configs_dir() / "tickets_cpu.yaml")
    out: dict = {}
    with tempfile.TemporaryDirectory(prefix="bench-quality-") as tmp_name:
        tmp = Path(tmp_name)
        data_dir = benchdata.ticket_data(tmp / "data")
        say("quality: naive, the whole recipe")
        naive = run_variant(recipe, examples(recipe, data_dir), tmp / "naive", threads=threads, **NAIVE_SETTINGS)
        merged = naive.pop("model").merge_and_unload()
        out["naive"] = {**{k: v for k, v in naive.items() if k != "tokenizer"},
                        **test_quality(merged, naive["tokenizer"], data_dir, recipe)}
        del merged
        gc.collect()
        say("quality: project, the whole recipe")
        project = run_project(recipe, data_dir, tmp / "project", threads)
        model, tokenizer = load_for_inference(Path(project["adapter"]))
        out["project"] = {**{k: v for k, v in project.items() if k != "adapter"},
                          **test_quality(model, tokenizer, data_dir, recipe)}
    return out


def curve(sizes: list[int], threads: int) -> list[dict]:
    """Training wall time of the default recipe, as the pipeline runs it, on ``n`` sampled examples, for each n."""
    import torch

    from riskft_pipeline import paths
    from riskft_pipeline.core.config import load_recipe
    from riskft_pipeline.training.sft import train

    base = load_recipe(paths.configs_dir() / "tickets_cpu.yaml")
    points = []
    with tempfile.TemporaryDirectory(prefix="bench-curve-") as tmp_name:
        tmp = Path(tmp_name)
        data_dir = benchdata.ticket_data(tmp / "data")
        for n in sizes:
            say(f"curve: {n} training examples, one epoch")
            recipe = base.model_copy(update={"train": base.train.model_copy(update={"max_train_examples": n})})
            torch.set_num_threads(threads)
            r = train(recipe, data_dir, tmp / f"curve-{n}", resume=False, progress=False)
            points.append({"examples": r["n_train_examples"], "steps": r["steps"], "seconds": r["train_runtime_s"],
                           "tokens": r["tokens_seen_this_session"], "tokens_per_s": r["tokens_per_s"],
                           "final_loss": r["final_loss"]})
    return points


def sized_row(tokenizer, row: dict, length: int) -> dict:
    """``row`` with its user turn repeated or cut so that the encoded example is about ``length`` tokens; the system
    prompt and the answer stay as they are."""
    from riskft_pipeline.training.chat import encode, encode_example

    *head, user, answer = row["messages"]
    ids = encode(tokenizer, user["content"])
    fixed = len(encode_example(tokenizer, row["messages"])["input_ids"]) - len(ids)
    if length - fixed < 1:
        raise SystemExit(f"--seq-curve {length}: example {row.get('id')}'s prompt and answer take {fixed} tokens "
                         "without any ticket text; ask for longer sequences")
    text = "\n".join([user["content"]] * ((length - fixed) // len(ids) + 1))
    user = {**user, "content": tokenizer.decode(encode(tokenizer, text)[:length - fixed])}
    return {**row, "messages": [*head, user, answer]}


def seq_curve(recipe, lengths: list[int], threads: int) -> list[dict]:
    """Training tokens/s of ``recipe`` (``sft.train``, its max_steps and batch size) on examples of about ``length``
    tokens, for each length: as many of the recipe's training rows (cycled), each :func:`sized_row`, as the steps take,
    trained without adding retrieval hints again (the rows already carry theirs) and with max_length fitted (none
    dropped)."""
    import statistics

    from riskft_pipeline.core.files import write_jsonl
    from riskft_pipeline.training.chat import encode_example
    from riskft_pipeline.training.sft import training_rows

    t = recipe.train
    count = t.max_steps * t.per_device_batch_size * t.gradient_accumulation_steps
    tokenizer = tokenizer_of(recipe)
    points = []
    with tempfile.TemporaryDirectory(prefix="bench-seq-") as tmp_name:
        tmp = Path(tmp_name)
        rows = training_rows(recipe, benchdata.ticket_data(tmp / "data") / "train.jsonl")
        for length in lengths:
            say(f"sequence-length curve: {count} examples of ~{length} tokens, {t.max_steps} steps")
            sized = [sized_row(tokenizer, rows[i % len(rows)], length) for i in range(count)]
            n_tokens = [len(encode_example(tokenizer, r["messages"])["input_ids"]) for r in sized]
            write_jsonl(tmp / f"seq-{length}" / "train.jsonl", sized)
            train = t.model_copy(update={"max_length": max(n_tokens), "max_train_examples": None, "retrieval_k": 0})
            r = run_project(recipe.model_copy(update={"train": train}), tmp / f"seq-{length}", tmp / f"run-{length}",
                            threads)
            points.append({"length": length, "mean_tokens": statistics.mean(n_tokens), "steps": t.max_steps,
                           "seconds": r["seconds"], "s_per_step": r["seconds"] / t.max_steps, "tokens": r["tokens"],
                           "tokens_per_s": r["tokens_per_s"], "final_loss": r["final_loss"]})
    return points


def line_png(path: Path, measured: tuple[list, list, str], reference: tuple[list, list, str], xlabel: str,
             ylabel: str, title: str) -> None:
    """One small chart: the measured points joined, and a dotted grey reference line; each is (xs, ys, label)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(*measured[:2], "o-", label=measured[2])
    ax.plot(*reference[:2], ":", color="grey", label=reference[2])
    ax.set_ylim(bottom=0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def curve_png(points: list[dict], path: Path) -> None:
    xs = [p["examples"] for p in points]
    per = points[-1]["seconds"] / points[-1]["examples"]
    line_png(path, (xs, [p["seconds"] for p in points], "default CPU recipe (sft.train, 1 epoch)"),
             ([0, xs[-1]], [0, per * xs[-1]], f"linear at {per:.2f} s/example"), "training examples",
             "training wall seconds", "LoRA training time vs examples, SmolLM2-135M, 2-core CPU")


def seq_curve_png(points: list[dict], path: Path) -> None:
    xs = [p["mean_tokens"] for p in points]
    first, steps = points[0]["tokens_per_s"], points[0]["steps"]
    line_png(path, (xs, [p["tokens_per_s"] for p in points], f"default CPU recipe (sft.train, {steps} steps a point)"),
             ([xs[0], xs[-1]], [first, first], "constant tokens/s (cost linear in length)"), "tokens per example",
             "training tokens/s", "LoRA training tokens/s vs sequence length, SmolLM2-135M")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    benchlib.add_mode_flags(parser)
    benchlib.add_threads_flag(parser)
    parser.add_argument("--curve", type=int, nargs="*", help="training-example counts for the scaling curve "
                        "(default: 30 60 120 240 in full mode, none otherwise)")
    parser.add_argument("--seq-curve", type=int, nargs="*", help="tokens per example for the sequence-length curve "
                        "(default: 128 256 512 1024 in full mode, 128 in smoke mode, none in quick mode)")
    parser.add_argument("--combined", nargs="*", metavar="WORD", help="also run the default recipe with each "
                        "combination of levers (bf16 autocast, LoRA on the top 15 layers, padded batches; always in "
                        "full mode); with words, only the combinations whose name contains one of them")
    parser.add_argument("--quality", action="store_true", help="also train naive and project on the whole recipe "
                        "and score both on its test tickets (always in full mode)")
    args = parser.parse_args(argv)
    mode = benchlib.mode_of(args)
    threads = benchlib.apply_threads(args)
    steps, batch, levers = SETTINGS[mode]
    ctx = benchlib.context()
    recipe, recipe_name = default_recipe(steps, batch)
    t = recipe.train
    figures = {"threads": threads, "recipe": recipe_name, "steps": steps,
               "batch_size": t.per_device_batch_size * t.gradient_accumulation_steps,
               **measure(recipe, recipe_name, threads, levers, combined_runs(args.combined, mode))}
    if args.quality or mode == "full":
        figures["quality"] = quality(threads)
    sizes = CURVE[mode] if args.curve is None else args.curve
    if sizes:
        figures["curve"] = curve(sorted(sizes), threads)
    seq_lengths = SEQ_CURVE[mode] if args.seq_curve is None else args.seq_curve
    if seq_lengths:
        figures["seq_curve"] = seq_curve(recipe, sorted(seq_lengths), threads)
    runs, lengths = figures["runs"], figures["lengths"]
    base = runs[NAIVE]["tokens_per_s"]
    print(f"LoRA training on CPU, offline base (SmolLM2-135M, fp32), {len(lengths)} ticket examples of "
          f"{lengths[0]}-{lengths[-1]} tokens (median {lengths[len(lengths) // 2]}), {steps} steps of "
          f"{figures['batch_size']} examples, {threads} torch thread(s); recipe: {recipe_name}\n")
    print(benchlib.table(["run", "seconds", "real tokens", "tokens/s", "x naive", "last logged loss"], [
        [name, r["seconds"], r["tokens"], r["tokens_per_s"], r["tokens_per_s"] / base, r["final_loss"]]
        for name, r in runs.items()]))
    if "val_loss" in figures:
        v = figures["val_loss"]
        print(f"\nvalidation loss per answer token ({VAL_EXAMPLES} val examples): naive {v['naive']:.4f}, "
              f"project {v['project']:.4f}")
    if "quality" in figures:
        q = figures["quality"]
        print(f"\nquality: both setups train the whole recipe ({recipe_name}), then generate for its "
              f"{q['project']['n_test']} test tickets (evaluate_tickets' parser and metrics):\n")
        print(benchlib.table(["run", "train seconds", "tokens/s", "mean field accuracy", "valid JSON"], [
            [name, r["seconds"], r["tokens_per_s"], r["mean_field_accuracy"], r["valid_json_rate"]]
            for name, r in (("naive", q["naive"]), ("project", q["project"]))]))
    if "curve" in figures:
        points = figures["curve"]
        print(f"\ntraining time vs examples ({recipe_name}, one epoch, as the pipeline trains):\n")
        print(benchlib.table(["examples", "steps", "seconds", "s/example", "tokens/s", "last logged loss"], [
            [p["examples"], p["steps"], p["seconds"], p["seconds"] / p["examples"], p["tokens_per_s"],
             p["final_loss"]] for p in points]))
        png = benchlib.out_dir() / "training_scaling.png"
        curve_png(points, png)
        print(f"\nscaling curve: {png}")
    if "seq_curve" in figures:
        points = figures["seq_curve"]
        print(f"\ntraining tokens/s vs sequence length ({recipe_name}, {steps} steps of {figures['batch_size']} "
              "examples per point, ticket text repeated or cut to length):\n")
        print(benchlib.table(["tokens/example", "mean tokens", "seconds", "s/step", "tokens/s", "last logged loss"], [
            [p["length"], p["mean_tokens"], p["seconds"], p["s_per_step"], p["tokens_per_s"], p["final_loss"]]
            for p in points]))
        png = benchlib.out_dir() / "training_seq_length.png"
        seq_curve_png(points, png)
        print(f"\nsequence-length curve: {png}")
    project = runs[f"project ({recipe_name})"]
    ratio = Ratio(project["tokens_per_s"] / base, "tokens/s, default recipe vs naive", TARGET)
    benchlib.finish(NAME, mode, ctx, figures, ratio)
    return 0


if __name__ == "__main__":
    benchlib.offline_env()
    sys.exit(main())
