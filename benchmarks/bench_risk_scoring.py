"""Risk scoring: the project's one forward pass per change reading the tier probabilities at the answer position
(``infer.choice_probabilities``) against generating the answer text and parsing the tier from it, on the test
changes of the prepared embedded change data, with the offline base model.

The baseline is given every advantage: batched generation (same batch size), and only as many new tokens as the
reference answers need (their median token length + the end token), as a trained model would stop there. Its parsed
tiers mean nothing with an untrained base (the table shows how many parse); its time is what is compared.

Full mode adds, for context, generation one change at a time (a notebook loop, on the first
:data:`SINGLE_SAMPLE` changes, per-change time scaled to all), and scores the same changes under bf16 autocast and compares with fp32: the largest probability change,
how often the top tier flips, and the AUC of both scores (of the untrained base: shows the numerical effect only).

    python benchmarks/bench_risk_scoring.py            # 128 changes, + bf16 autocast comparison
    python benchmarks/bench_risk_scoring.py --quick    # 16 changes
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import benchdata
import benchlib
from benchlib import Ratio, Timer, say

NAME = "risk_scoring"
TARGET = 20.0
SETTINGS = {"smoke": (3, 3, False), "quick": (16, 16, False), "full": (128, 32, True)}  # changes, batch, bf16
SINGLE_SAMPLE = 16  # changes generated one at a time in full mode (context row; its time is scaled to n)
SMOKE_MAX_NEW = 12  # the smoke run checks the script, not the figure: a short answer is enough


def score(model, tokenizer, prompts, batch_size: int, share_prefix: bool = True):
    from riskft_pipeline.core.risk.prompts import ANSWER_PREFIX, TIERS
    from riskft_pipeline.training.infer import choice_probabilities

    return choice_probabilities(model, tokenizer, prompts, choices=TIERS, answer_prefix=ANSWER_PREFIX,
                                batch_size=batch_size, share_prefix=share_prefix)


def metrics_only(prompts):
    """The same prompts with the metrics line only (no commit message or diff), as for a k-feature table."""
    return [[{**m, "content": m["content"].split("\n")[0]} if m["role"] == "user" else m for m in p]
            for p in prompts]


def shared_prefix_rows(model, tokenizer, prompts, batch_size: int) -> tuple[list[list], dict]:
    """The forward pass with the shared prefix run once vs every prompt run whole, alternating (2 rounds each),
    on the prompts as they are and on their metrics line alone; the probabilities must agree."""
    import numpy as np

    rows, figures = [], {}
    for name, ps in (("metrics + text", prompts), ("metrics only", metrics_only(prompts))):
        times = {True: [], False: []}
        probs = {}
        for _ in range(2):
            for share in (True, False):
                with Timer() as t:
                    probs[share] = score(model, tokenizer, ps, batch_size, share_prefix=share)
                times[share].append(t.s)
        diff = float(np.abs(probs[True] - probs[False]).max())
        if diff > 1e-4:
            raise SystemExit(f"shared-prefix scoring differs from whole prompts by {diff:.2g} ({name})")
        best = {k: min(v) for k, v in times.items()}
        rows.append([f"forward pass, {name}: shared prefix once / prompts whole", best[True], best[False],
                     f"{best[False] / best[True]:.2f}x (max prob diff {diff:.1e})"])
        figures[name] = {"shared_prefix_s": times[True], "whole_s": times[False], "max_prob_diff": diff}
    return rows, figures


def generate_and_parse(model, tokenizer, prompts, batch_size: int, max_new_tokens: int) -> list[str | None]:
    from riskft_pipeline.core.risk.prompts import parse_answer
    from riskft_pipeline.training.infer import generate

    texts = generate(model, tokenizer, prompts, batch_size=batch_size, max_new_tokens=max_new_tokens, progress=False)
    return [(parse_answer(t) or {}).get("risk") for t in texts]


def one_at_a_time_s(model, tokenizer, prompts, max_new_tokens: int) -> float:
    """Seconds per change when each is generated alone (batch 1, the same greedy settings)."""
    from riskft_pipeline.training.infer import generate

    with Timer() as t:
        for messages in prompts:
            generate(model, tokenizer, [messages], batch_size=1, max_new_tokens=max_new_tokens, progress=False)
    return t.s / len(prompts)


def answer_tokens(tokenizer, answers: list[str]) -> int:
    """Median token length of the reference answers, plus the end token a trained model emits after them."""
    return int(statistics.median(len(tokenizer(a, add_special_tokens=False)["input_ids"]) for a in answers)) + 1


def bf16_comparison(model, tokenizer, prompts, labels, batch_size: int, p32) -> dict:
    import numpy as np
    import torch

    from riskft_pipeline.core.metrics import roc_auc

    with Timer() as t, torch.autocast("cpu", dtype=torch.bfloat16):
        p16 = score(model, tokenizer, prompts, batch_size)

    def auc(p):
        return roc_auc(labels, p[:, 2] + 0.5 * p[:, 1]) if len(set(labels)) == 2 else float("nan")

    return {"max_abs_prob_diff": float(np.abs(p16 - p32).max()),
            "top_tier_flips": int((p16.argmax(1) != p32.argmax(1)).sum()), "n": len(prompts),
            "auc_fp32": auc(p32), "auc_bf16": auc(p16), "bf16_s": t.s}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    benchlib.add_mode_flags(parser)
    benchlib.add_threads_flag(parser)
    args = parser.parse_args(argv)
    mode = benchlib.mode_of(args)
    threads = benchlib.apply_threads(args)
    n, batch_size, with_bf16 = SETTINGS[mode]
    ctx = benchlib.context()
    from riskft_pipeline.core.files import read_jsonl

    with tempfile.TemporaryDirectory(prefix="bench-risk-") as tmp:
        data = benchdata.risk_data(Path(tmp) / "data")
        prompts = benchdata.prompts(data, "test", n)
        answers = benchdata.answers(data, "test", n)
        labels = [int(r["label"]) for r in read_jsonl(data / "test.jsonl")[:n]]
    model, tokenizer = benchdata.base_for_inference()
    max_new = answer_tokens(tokenizer, answers)
    if mode == "smoke":
        max_new = min(max_new, SMOKE_MAX_NEW)
    score(model, tokenizer, prompts[:2], 2)  # warm-up

    say(f"one forward pass: {n} changes")
    with Timer() as t1:
        probs = score(model, tokenizer, prompts, batch_size)
    say(f"generate {max_new} tokens and parse: {n} changes")
    with Timer() as t2:
        tiers = generate_and_parse(model, tokenizer, prompts, batch_size, max_new)
    parsed = sum(t is not None for t in tiers)
    single = one_at_a_time_s(model, tokenizer, prompts[:SINGLE_SAMPLE], max_new) * n if mode == "full" else None
    print(f"Change-risk scoring, offline base (SmolLM2-135M, fp32), {n} test changes of the embedded data, "
          f"batch {batch_size}, {threads} torch thread(s)\n")
    print(benchlib.table(["path", "seconds", "changes/s", "output"], [
        ["one forward pass (choice_probabilities)", t1.s, n / t1.s, "3 tier probabilities per change"],
        [f"generate {max_new} tokens + parse tier", t2.s, n / t2.s, f"tier parsed for {parsed}/{n}"],
        *([[f"same, one change at a time (scaled from {SINGLE_SAMPLE})", single, n / single,
            f"{single / t1.s:.1f}x the forward pass"]] if single else []),
    ]))
    figures = {"threads": threads, "n": n, "batch_size": batch_size, "max_new_tokens": max_new,
               "forward_s": t1.s, "generate_s": t2.s, "one_at_a_time_s_scaled": single, "parsed": parsed}
    if with_bf16:
        say("bf16 autocast vs fp32")
        cmp = bf16_comparison(model, tokenizer, prompts, labels, batch_size, probs)
        figures["bf16"] = cmp
        print(f"\nbf16 autocast vs fp32 on the same {n} changes: largest probability change "
              f"{cmp['max_abs_prob_diff']:.3f}, top tier flipped for {cmp['top_tier_flips']}/{n}, "
              f"AUC {cmp['auc_fp32']:.3f} (fp32) vs {cmp['auc_bf16']:.3f} (bf16), bf16 pass {cmp['bf16_s']:.1f} s "
              f"(untrained base: numerical effect only)")
    say("shared prompt prefix once vs prompts whole")
    prefix_rows, figures["shared_prefix"] = shared_prefix_rows(model, tokenizer, prompts, batch_size)
    print("\nThe prompts' shared prefix (system prompt, chat markup) run once per call, each batch continuing from "
          "its cache, vs every prompt run whole (best of 2, alternating):\n")
    print(benchlib.table(["path", "shared prefix s", "whole s", "speed-up"], prefix_rows))
    ratio = Ratio(t2.s / t1.s, "changes/s, one forward pass vs generate + parse", TARGET)
    benchlib.finish(NAME, mode, ctx, figures, ratio)
    return 0


if __name__ == "__main__":
    benchlib.offline_env()
    sys.exit(main())
