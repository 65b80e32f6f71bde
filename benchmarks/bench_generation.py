"""Evaluation generation: the project's batched greedy generation (``infer.generate``: left padding, prompts sorted
by length) against one prompt at a time (how a test notebook does it), with the offline base model on the test
prompts of the prepared embedded ticket data. The greedy outputs of both are asserted equal.

Full mode also measures a LoRA adapter served unmerged (the PEFT wrapper adds two small matmuls per layer per token)
against the same adapter merged into the base weights (``eval.merge_adapter``, the recipes' default).

    python benchmarks/bench_generation.py            # 64 prompts, batch 16 and 32, 96 new tokens, + adapter
    python benchmarks/bench_generation.py --quick    # 16 prompts, batch 16, 48 new tokens
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import benchdata
import benchlib
from benchlib import Ratio, Timer, say

NAME = "generation"
TARGET = 5.0
SETTINGS = {  # prompts, batch sizes, max new tokens, adapter comparison
    "smoke": (3, [3], 6, False),
    "quick": (16, [16], 48, False),
    "full": (64, [16, 32], 96, True),
}


def one_at_a_time(model, tokenizer, prompts: list[list[dict]], max_new_tokens: int) -> tuple[list[str], int]:
    """The notebook loop: template, tokenise, ``generate`` and decode, one conversation after another."""
    import torch

    texts, new_tokens = [], 0
    with torch.inference_mode():
        for messages in prompts:
            text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            inputs = tokenizer(text, return_tensors="pt", add_special_tokens=False)
            out = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False)
            new = out[0, inputs["input_ids"].shape[1]:]
            new_tokens += len(new)
            texts.append(tokenizer.decode(new, skip_special_tokens=True))
    return texts, new_tokens


def batched(model, tokenizer, prompts: list[list[dict]], max_new_tokens: int, batch_size: int) -> list[str]:
    from riskft_pipeline.training.infer import generate

    return generate(model, tokenizer, prompts, batch_size=batch_size, max_new_tokens=max_new_tokens, progress=False)


def random_lora(model, seed: int = 0):
    """A LoRA adapter with non-zero random weights on every linear layer (as after training), unmerged."""
    import torch
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(seed)
    config = LoraConfig(r=16, lora_alpha=32, target_modules="all-linear", init_lora_weights=False)
    with torch.no_grad():
        peft_model = get_peft_model(model, config)
        for name, param in peft_model.named_parameters():
            if "lora_B" in name:
                param.mul_(0.01)  # a trained adapter's small update, not a random model
    return peft_model.eval()


def adapter_comparison(model, tokenizer, prompts, max_new_tokens: int, batch_size: int) -> dict:
    peft_model = random_lora(model)
    with Timer() as t:
        unmerged = batched(peft_model, tokenizer, prompts, max_new_tokens, batch_size)
    unmerged_s = t.s
    merged_model = peft_model.merge_and_unload()
    with Timer() as t:
        merged = batched(merged_model, tokenizer, prompts, max_new_tokens, batch_size)
    same = sum(a == b for a, b in zip(unmerged, merged))
    return {"unmerged_s": unmerged_s, "merged_s": t.s, "same_outputs": same, "n": len(prompts)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    benchlib.add_mode_flags(parser)
    benchlib.add_threads_flag(parser)
    parser.add_argument("--prompts", type=int, help="number of test prompts (overrides the mode's)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", help="batch sizes to measure (overrides the mode's)")
    parser.add_argument("--max-new-tokens", type=int, help="new tokens per answer (overrides the mode's)")
    args = parser.parse_args(argv)
    mode = benchlib.mode_of(args)
    threads = benchlib.apply_threads(args)
    n, batch_sizes, max_new, with_adapter = SETTINGS[mode]
    n, batch_sizes, max_new = args.prompts or n, args.batch_sizes or batch_sizes, args.max_new_tokens or max_new
    ctx = benchlib.context()
    with tempfile.TemporaryDirectory(prefix="bench-gen-") as tmp:
        prompts = benchdata.prompts(benchdata.ticket_data(Path(tmp) / "data"), "test", n)
    model, tokenizer = benchdata.base_for_inference()
    batched(model, tokenizer, prompts[:2], 4, 2)  # warm-up: first-call allocations are not what is measured

    say(f"one at a time: {n} prompts")
    with Timer() as t:
        single, new_tokens = one_at_a_time(model, tokenizer, prompts, max_new)
    rows = [["one prompt at a time", 1, t.s, n / t.s, new_tokens / t.s, "-"]]
    best = None
    for bs in batch_sizes:
        say(f"batched: batch {bs}")
        with Timer() as tb:
            texts = batched(model, tokenizer, prompts, max_new, bs)
        mismatches = [i for i, (a, b) in enumerate(zip(single, texts)) if a != b]
        if mismatches:
            i = mismatches[0]
            raise AssertionError(f"batch {bs}: {len(mismatches)}/{n} greedy outputs differ from one-at-a-time, "
                                 f"first at prompt {i}:\n  single:  {single[i]!r}\n  batched: {texts[i]!r}")
        rows.append(["batched (infer.generate)", bs, tb.s, n / tb.s, new_tokens / tb.s, f"{n}/{n}"])
        speedup = t.s / tb.s
        best = max(best or (0, 0), (speedup, bs))
    print(f"Greedy generation, offline base (SmolLM2-135M, fp32), {n} test prompts of the embedded ticket data, "
          f"max {max_new} new tokens, {threads} torch thread(s)\n")
    print(benchlib.table(["path", "batch", "seconds", "examples/s", "new tokens/s", "same output"], rows))
    figures = {"threads": threads, "n_prompts": n, "max_new_tokens": max_new, "new_tokens": new_tokens, "rows": rows}
    if with_adapter:
        say("adapter: unmerged vs merged")
        cmp = adapter_comparison(model, tokenizer, prompts, max_new, batch_sizes[0])
        figures["adapter"] = cmp
        print(f"\nLoRA r=16 on all linear layers, batch {batch_sizes[0]}: unmerged {cmp['unmerged_s']:.1f} s, "
              f"merged {cmp['merged_s']:.1f} s ({cmp['unmerged_s'] / cmp['merged_s']:.2f}x faster merged); "
              f"{cmp['same_outputs']}/{cmp['n']} identical outputs (merging changes fp32 rounding)")
    ratio = Ratio(best[0], f"examples/s, batched (batch {best[1]}) vs one at a time", TARGET)
    benchlib.finish(NAME, mode, ctx, figures, ratio)
    return 0


if __name__ == "__main__":
    benchlib.offline_env()
    sys.exit(main())
