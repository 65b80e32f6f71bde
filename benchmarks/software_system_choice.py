"""``software_system`` generated vs chosen among the known systems a ticket names, on one prepared data set.

    riskft train --recipe configs/tickets_cpu.yaml --data prepared/ --out run/
    python benchmarks/software_system_choice.py --adapter run/adapter --data prepared/ [--splits val,test]

For every ticket of each split the adapter chooses the categorical fields and generates the free text once
(:func:`riskft_pipeline.training.choose.choose_answers`), and every candidate of the open set (the generated value,
the known systems the ticket names, the known labels a short generated value expands to) is scored once. Each rule
is then read from the same scores:

- ``generated``: the generated value (the rule before choice);
- ``open``: the best-scored candidate of the open set;
- ``grounded``: the best-scored of :meth:`SystemNames.candidates` (the generated value is dropped when the ticket
  names known systems but not it, or names it only inside a longer known name; the shipped rule).

Prints exact match per split and rule, the rule's difference from ``generated`` with its 95% paired bootstrap
interval, and writes each ticket's candidates and scores to ``--out`` (JSONL). Choose a rule on validation splits.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import table

from riskft_pipeline.core import fusion
from riskft_pipeline.core.metrics import normalise_text
from riskft_pipeline.core.tickets.choices import label_space
from riskft_pipeline.core.tickets.prompts import user_text
from riskft_pipeline.core.tickets.retrieval import strip_hint

RULES = ("generated", "open", "grounded")


def _pick(scores: dict | None, candidates: list):
    if len(candidates) <= 1 or not scores:
        return candidates[0] if candidates else None
    return max(candidates, key=lambda v: scores[v])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--adapter", type=Path, required=True)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--splits", default="val,test")
    ap.add_argument("--out", type=Path, default=None, help="per-ticket candidates and scores (JSONL)")
    args = ap.parse_args(argv)

    from riskft_pipeline.core.config import Recipe
    from riskft_pipeline.training import evaluate
    from riskft_pipeline.training.choose import choose_answers
    from riskft_pipeline.training.infer import load_for_inference, read_adapter_meta
    from riskft_pipeline.training.sft import read_split, sample_rows

    meta = read_adapter_meta(args.adapter)
    recipe = Recipe.model_validate(meta["recipe"])
    train = read_split(args.data / "train.jsonl")
    names = evaluate.system_names(train)
    splits = {s: sample_rows(read_split(args.data / f"{s}.jsonl"), recipe.eval.max_test_examples, recipe.train.seed)
              for s in args.splits.split(",")}  # the rows the evaluation scores
    prompts = evaluate.hinted_prompts(train, {s: [r["messages"][:-1] for r in rows] for s, rows in splits.items()},
                                      recipe.train.retrieval_k)
    space = label_space([evaluate._expected(r) for r in train])
    model, tokenizer = load_for_inference(args.adapter, None, merge=recipe.eval.merge_adapter)
    rows, out_rows = [], []
    for split, data in splits.items():
        t0 = time.perf_counter()
        chosen, timing = choose_answers(model, tokenizer, prompts[split], space, batch_size=recipe.eval.batch_size,
                                        max_new_tokens=recipe.eval.max_new_tokens, systems=names, grounded=False)
        truth = [evaluate._expected(r)["software_system"] for r in data]
        picks = {r: [] for r in RULES}
        for c, msgs, gold in zip(chosen, prompts[split], truth):
            text = strip_hint(user_text(msgs))
            generated = c.system_generated
            picks["generated"].append(generated)
            picks["open"].append(_pick(c.system_scores, names.candidates(text, generated, grounded=False)))
            picks["grounded"].append(_pick(c.system_scores, names.candidates(text, generated)))
            out_rows.append({"split": split, "gold": gold, "generated": generated, "scores": c.system_scores,
                             **{r: picks[r][-1] for r in RULES}, "text": text[:300]})
        ok = {r: np.array([normalise_text(p) == normalise_text(t) for p, t in zip(picks[r], truth)], dtype=float)
              for r in RULES}
        for r in RULES:
            diff = fusion.paired_bootstrap(lambda idx, a=ok[r], b=ok["generated"]: float(a[idx].mean() - b[idx].mean()),
                                           len(truth), seed=0)
            rows.append([split, len(truth), r, f"{ok[r].mean():.3f}", int(ok[r].sum()),
                         f"{diff['diff']:+.3f} [{diff['lo']:+.3f}, {diff['hi']:+.3f}]" if r != "generated" else "",
                         f"{timing['choose_system_s']:.1f}" if r == "generated" else "",
                         f"{time.perf_counter() - t0:.0f}" if r == "generated" else ""])
    print(table(["split", "n", "rule", "exact", "right", "− generated [95% CI]", "system scoring s", "split s"], rows))
    if args.out:
        args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in out_rows), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
