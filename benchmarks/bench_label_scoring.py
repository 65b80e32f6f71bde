"""Label scoring on the CPU: how fast the ticket evaluation *chooses* its categorical fields (``choose.choose_answers``),
with every candidate packed into one row after the prompt's KV cache, against the earlier path that copied the cache
once per candidate and scored the candidates as a padded batch; and, side by side, the batched free generation of
the whole answer (``infer.generate``) that label scoring replaced.

Both scoring paths run on the same test tickets of the prepared embedded data with the offline base model and the
training split's labels as candidates; the table says whether they chose the same labels and how far apart their
log-probabilities are (the packing must not change the scores). The generation row is context: an untrained base
writes long answers, so its examples/s is a lower bound for a trained adapter.

    python benchmarks/bench_label_scoring.py            # 32 test tickets
    python benchmarks/bench_label_scoring.py --quick    # 8
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
from pathlib import Path

import benchdata
import benchlib
from benchlib import Ratio, Timer, say

NAME = "label_scoring"
TARGET = 1.0  # the packed path must be at least as fast as the copies it replaced
SETTINGS = {"smoke": (2, 8), "quick": (8, 48), "full": (32, 80)}  # tickets, new tokens (free text / generation)
GENERATION_BATCH = 32


def copies_reference(model, tokenizer, prefix_cache, suffixes: list[list[int]], shared: int):
    """The earlier ``choose._continuation_logprobs``: the prefix cache deep-copied and repeated once per candidate,
    the candidates right-padded into a batch, logits at every position."""
    import numpy as np
    import torch

    scores = np.zeros(len(suffixes), dtype=np.float64)
    width = max((len(s) for s in suffixes), default=1)
    if width == 1:
        return scores
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    n = len(suffixes)
    ids = torch.full((n, width), pad, dtype=torch.long)
    mask = torch.zeros((n, shared + width), dtype=torch.long)
    mask[:, :shared] = 1
    for row, s in enumerate(suffixes):
        ids[row, : len(s)] = torch.tensor(s, dtype=torch.long)
        mask[row, shared: shared + len(s)] = 1
    cache = copy.deepcopy(prefix_cache.cache)
    cache.batch_repeat_interleave(n)
    out = model(input_ids=ids, attention_mask=mask, cache=cache, use_cache=True)
    logp = torch.log_softmax(out.logits[:, :-1].float(), dim=-1)
    for row, s in enumerate(suffixes):
        if len(s) > 1:
            nxt = torch.tensor(s[1:], dtype=torch.long)
            scores[row] += float(logp[row, : len(s) - 1].gather(-1, nxt[:, None]).sum())
    return scores


def choose_with(path: str, model, tokenizer, prompts, space, max_new: int):
    from riskft_pipeline.training import choose

    packed = choose._continuation_logprobs
    if path == "copies":
        choose._continuation_logprobs = copies_reference
    try:
        return choose.choose_answers(model, tokenizer, prompts, space, max_new_tokens=max_new)
    finally:
        choose._continuation_logprobs = packed


def main(argv: list[str] | None = None) -> int:
    import numpy as np

    from riskft_pipeline.core.files import read_jsonl
    from riskft_pipeline.core.tickets.choices import label_space
    from riskft_pipeline.core.tickets.prompts import parse_answer
    from riskft_pipeline.training.infer import generate

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    benchlib.add_mode_flags(parser)
    benchlib.add_threads_flag(parser)
    args = parser.parse_args(argv)
    mode = benchlib.mode_of(args)
    threads = benchlib.apply_threads(args)
    n, max_new = SETTINGS[mode]
    ctx = benchlib.context()
    with tempfile.TemporaryDirectory(prefix="bench-labels-") as tmp:
        data = benchdata.ticket_data(Path(tmp) / "data")
        prompts = benchdata.prompts(data, "test", n)
        space = label_space([parse_answer(r["messages"][-1]["content"]) for r in read_jsonl(data / "train.jsonl")])
    model, tokenizer = benchdata.base_for_inference()
    choose_with("packed", model, tokenizer, prompts[:1], space, 2)  # warm-up
    runs = {}
    for path in ("copies", "packed"):
        say(f"label scoring, {path}: {n} tickets")
        answers, timing = choose_with(path, model, tokenizer, prompts, space, max_new)
        runs[path] = {"answers": answers, "choose_s": timing["choose_s"], "free_text_s": timing["generate_free_text_s"]}
    say(f"batched generation of the whole answer: {n} tickets, {max_new} tokens")
    with Timer() as gen:
        generate(model, tokenizer, prompts, batch_size=GENERATION_BATCH, max_new_tokens=max_new, progress=False)
    old, new = runs["copies"]["answers"], runs["packed"]["answers"]
    same = sum(a.answer == b.answer for a, b in zip(old, new))
    diff = max(float(np.abs(a.logprobs[f] - b.logprobs[f]).max()) for a, b in zip(old, new) for f in a.logprobs)
    sizes = ", ".join(f"{f} {len(v)}" for f, v in space.items())
    print(f"Ticket label scoring, offline base (SmolLM2-135M, fp32), {n} test tickets of the embedded data, "
          f"candidates per field: {sizes}; {threads} torch thread(s)\n")
    print(benchlib.table(["path", "choose s", "tickets/s (choose)", "free text s", "same answers"], [
        ["per-candidate cache copies, padded batch (before)", runs["copies"]["choose_s"],
         n / runs["copies"]["choose_s"], runs["copies"]["free_text_s"], "-"],
        ["candidates packed in one row (choose.py)", runs["packed"]["choose_s"], n / runs["packed"]["choose_s"],
         runs["packed"]["free_text_s"], f"{same}/{n}"],
        [f"batched generation of the whole answer (batch {GENERATION_BATCH}, {max_new} tokens)", gen.s, n / gen.s,
         "-", "-"],
    ]))
    print(f"\nlargest log-probability difference between the two scoring paths: {diff:.2e}")
    figures = {"threads": threads, "n": n, "max_new_tokens": max_new, "candidates": {f: len(v) for f, v in
                                                                                    space.items()},
               "copies_choose_s": runs["copies"]["choose_s"], "packed_choose_s": runs["packed"]["choose_s"],
               "free_text_s": runs["packed"]["free_text_s"], "generation_s": gen.s, "same_answers": same,
               "max_logprob_diff": diff}
    ratio = Ratio(runs["copies"]["choose_s"] / runs["packed"]["choose_s"],
                  "tickets/s choosing labels, packed candidates vs per-candidate cache copies", TARGET)
    benchlib.finish(NAME, mode, ctx, figures, ratio)
    return 0


if __name__ == "__main__":
    benchlib.offline_env()
    sys.exit(main())
