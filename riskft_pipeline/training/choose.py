"""Label scoring: the adapter *chooses* each categorical ticket field among the training labels, then generates
the free-text fields; the answer JSON is assembled by code (:mod:`riskft_pipeline.core.tickets.choices`).

For one ticket, the prompt is run once and its KV cache kept; each field only extends it by the few tokens of the
answer so far. The candidates of a field are scored together in one batched forward pass over the shared cache
(each candidate's tokens only): its sequence log-probability ``Σ log p(token | prompt, answer so far, earlier
tokens)``, candidates tokenised *with* the prefix, exactly as in training (a BPE merge across the boundary is handled
by sharing only the tokens every candidate has in common). A softmax over the candidates' log-probabilities is the
field's distribution. Scoring runs in the model's dtype (fp32 on the CPU recipes).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from riskft_pipeline.core.tickets.choices import (
    SystemNames,
    answer_prefix,
    assemble,
    candidate_continuation,
    parse_free_text,
)
from riskft_pipeline.core.tickets.prompts import CATEGORICAL_FIELDS, FREE_TEXT_FIELDS, user_text
from riskft_pipeline.core.tickets.retrieval import strip_hint
from riskft_pipeline.training.chat import encode, prompt_text
from riskft_pipeline.training.infer import common_len, healed_prefix, shared_prefix_len


@dataclass
class ChosenAnswer:
    """One ticket: the assembled answer, each categorical field's distribution over its labels (label-space order),
    the generated free-text continuation and whether it could be read."""

    answer: dict
    distributions: dict[str, np.ndarray]  # softmax of the plain sequence log-probabilities (length power 0)
    free_text_raw: str
    free_text_parsed: bool
    free_text_conf: float | None = None  # probability of the generated continuation (product of its tokens')
    system_generated: str | None = None  # software_system as generated, before it was chosen
    system_scores: dict | None = None  # software_system candidates scored (value -> sequence log-probability)
    logprobs: dict[str, np.ndarray] | None = None  # per field: each candidate's sequence log-probability
    n_tokens: dict[str, np.ndarray] | None = None  # per field: the tokens each of those sums over

    def free_text_confidence(self, field: str) -> float | None:
        """A free-text field's confidence: for ``software_system`` chosen among scored candidates, the chosen one's
        share of their softmax; otherwise the probability of the generated continuation when the value is the
        generated one (None when the value replaced the generated one unscored)."""
        value = self.answer.get(field)
        if field != "software_system":
            return self.free_text_conf
        if self.system_scores:
            if value not in self.system_scores:
                return None
            return float(_softmax(np.array(list(self.system_scores.values())))[list(self.system_scores).index(value)])
        return self.free_text_conf if value == self.system_generated else None

    def distribution(self, field: str, length_power: float = 0.0) -> np.ndarray:
        """The field's distribution with each log-probability divided by (token count) ** ``length_power``."""
        if not length_power or self.logprobs is None or field not in self.logprobs:
            return self.distributions[field]
        return _softmax(self.logprobs[field] / self.n_tokens[field] ** length_power)


class _PrefixCache:
    """The KV cache of the longest prefix run so far for one ticket, extended (or cropped back) on demand."""

    def __init__(self, model):
        self.model = model
        self.ids: list[int] = []
        self.cache = None
        self.last_logits = None  # logits after the last cached token (predicts the next one)

    def advance(self, ids: Sequence[int]):
        """Make the cache hold exactly ``ids``; returns the logits that predict the token after them."""
        import torch
        from transformers import DynamicCache

        keep = min(common_len(self.ids, ids), len(ids) - 1)
        if self.cache is None or keep == 0:
            self.cache, keep = DynamicCache(), 0
        elif keep < self.cache.get_seq_length():
            self.cache.crop(keep - self.cache.get_seq_length())  # transformers 5: crop(-n) drops the last n tokens
        if keep < len(ids) or self.last_logits is None:
            new = torch.tensor([list(ids[keep:])], dtype=torch.long, device=self.model.device)
            out = self.model(input_ids=new, cache=self.cache, use_cache=True, logits_to_keep=1)  # fills the cache
            self.last_logits = out.logits[0, -1].float()
        self.ids = list(ids)
        return self.last_logits


def candidate_logprobs(model, tokenizer, prefix_cache: _PrefixCache, prefix: str, continuations: Sequence[str]
                       ) -> np.ndarray:
    """Sequence log-probability of each continuation after ``prefix``, one batched pass over the shared cache.
    (Scoring only the candidates with the most probable first tokens was measured and saved nothing: the time goes
    to the prompt and the per-call overhead, not the candidates' tokens.)"""

    return candidate_scores(model, tokenizer, prefix_cache, prefix, continuations)[0]


def candidate_scores(model, tokenizer, prefix_cache: _PrefixCache, prefix: str, continuations: Sequence[str]
                     ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`candidate_logprobs` and the number of tokens each candidate's score sums over."""
    import torch

    full = [encode(tokenizer, prefix + c) for c in continuations]
    shared = shared_prefix_len(full)
    first = torch.log_softmax(prefix_cache.advance(full[0][:shared]), dim=-1)
    scores = np.array([float(first[f[shared]]) for f in full], dtype=np.float64)
    scores += _continuation_logprobs(model, tokenizer, prefix_cache, [f[shared:] for f in full], shared)
    return scores, np.array([len(f) - shared for f in full], dtype=np.float64)


def _continuation_logprobs(model, tokenizer, prefix_cache: _PrefixCache, suffixes: list[list[int]], shared: int
                           ) -> np.ndarray:
    """Σ log p of each suffix's tokens after its first (the first is scored from the shared logits).

    Every candidate's tokens (but its last: nothing after it is scored) go into ONE row after the shared prefix's
    cache, without padding: each attends to the whole prefix and to its own earlier tokens only (a block-causal 4-D
    mask), with the positions it would have alone. The cache is not copied per candidate, and is cropped back to the
    prefix afterwards."""
    import torch

    scores = np.zeros(len(suffixes), dtype=np.float64)
    fed = [s[:-1] for s in suffixes]  # position j of a candidate predicts its token j + 1
    total = sum(len(f) for f in fed)
    if total == 0:
        return scores
    owner = torch.repeat_interleave(torch.arange(len(fed)), torch.tensor([len(f) for f in fed]))
    step = torch.cat([torch.arange(len(f)) for f in fed])
    mask = torch.ones((1, 1, total, shared + total), dtype=torch.bool)
    mask[0, 0, :, shared:] = (owner[:, None] == owner[None, :]) & (step[:, None] >= step[None, :])
    ids = torch.tensor([[t for f in fed for t in f]], dtype=torch.long)
    cache = prefix_cache.cache
    before = cache.get_seq_length()
    assert before == shared, f"the prefix cache holds {before} tokens, expected {shared}"
    try:
        out = model(input_ids=ids.to(model.device), attention_mask=mask.to(model.device),
                    position_ids=(shared + step)[None].to(model.device), cache=cache, use_cache=True)
    finally:
        if cache.get_seq_length() > before:
            cache.crop(before - cache.get_seq_length())
    logp = torch.log_softmax(out.logits[0].float(), dim=-1)
    target = torch.tensor([t for s in suffixes for t in s[1:]], dtype=torch.long, device=logp.device)
    picked = logp.gather(-1, target[:, None])[:, 0].double().cpu()
    scores += np.bincount(owner.numpy(), weights=picked.numpy(), minlength=len(suffixes))
    return scores


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()


def choose_answers(model, tokenizer, messages_list: Sequence[Sequence[dict]],
                   labels: Mapping[str, Sequence[str | None]], *, batch_size: int = 16, max_new_tokens: int = 48,
                   progress: Callable[[int, int], None] | None = None, free_text: bool = True,
                   systems: SystemNames | None = None, grounded: bool = True) -> tuple[list[ChosenAnswer], dict]:
    """Choose the categorical fields (``labels``: the candidates per field, from training) and generate the free-text
    ones for every conversation; returns the answers in input order and timings. Each field is chosen (and later
    fields conditioned) by plain sequence probability; the raw log-probabilities and token counts are kept, so a
    length-normalised distribution can be read per field (:meth:`ChosenAnswer.distribution`). ``progress(done,
    total)``: conversations chosen so far, 0 first.

    ``free_text=False``: the categorical fields only (free-text fields ``None``, nothing generated), for a split whose
    free text nobody reads (validation: it chooses fusion weights and thresholds of the categorical fields). A cache
    kept across tickets, so that their common prompt start runs once, measured no gain (``benchmarks/RESULTS.md``).

    ``systems`` (the training split's software systems): ``software_system`` is then *chosen*, like a categorical
    field, among :meth:`SystemNames.candidates` (the generated value and the known systems the ticket names), by
    sequence probability after the chosen fields; one candidate is taken as it is. ``issue_request`` stays as
    generated."""
    import torch

    from riskft_pipeline.training.infer import generate_from_ids

    t0 = time.perf_counter()
    chosen_all, dists_all, prefixes = [], [], []
    if progress is not None:
        progress(0, len(messages_list))  # the start, so a receiver can tell the rate
    prompts = [prompt_text(tokenizer, m) for m in messages_list]
    with torch.inference_mode():
        for k, prompt in enumerate(prompts):
            cache = _PrefixCache(model)
            chosen: dict = {}
            dists, raw, counts = {}, {}, {}
            for f in CATEGORICAL_FIELDS:
                cands = list(labels[f])
                if len(cands) == 1:
                    dists[f] = np.ones(1)
                else:
                    lp, n_tokens = candidate_scores(model, tokenizer, cache, prompt + answer_prefix(chosen, f),
                                                    [candidate_continuation(f, v) for v in cands])
                    dists[f] = _softmax(lp)
                    raw[f], counts[f] = lp, n_tokens
                chosen[f] = cands[int(np.argmax(dists[f]))] if cands else None
            chosen_all.append(chosen)
            dists_all.append((dists, raw, counts))
            prefixes.append(healed_prefix(tokenizer, prompt, answer_prefix(chosen, FREE_TEXT_FIELDS[0]))
                            if free_text else ([], ""))
            if progress is not None:
                progress(k + 1, len(messages_list))
    t1 = time.perf_counter()
    gens = generate_from_ids(model, tokenizer, [ids for ids, _ in prefixes], batch_size=batch_size,
                             max_new_tokens=max_new_tokens, progress=False) if free_text else [None] * len(prefixes)
    t2 = time.perf_counter()
    out = []
    for k, (chosen, (dists, raw, counts), (_, answer_so_far), gen) in enumerate(
            zip(chosen_all, dists_all, prefixes, gens)):
        free = parse_free_text(answer_so_far, gen.text) if gen is not None else None
        parsed, scored, generated = free is not None, None, (free or {}).get("software_system")
        if gen is not None and systems is not None:  # chosen even where the continuation could not be read
            free = free or {}
            free["software_system"], scored = choose_system(
                model, tokenizer, prompts[k] + answer_prefix(chosen, "software_system"),
                systems.candidates(strip_hint(user_text(messages_list[k])), generated, grounded))
        out.append(ChosenAnswer(answer=assemble(chosen, free), distributions=dists,
                                free_text_raw=gen.text if gen is not None else "", free_text_parsed=parsed,
                                free_text_conf=float(np.prod(gen.token_probs)) if gen and gen.token_probs else None,
                                logprobs=raw, n_tokens=counts, system_generated=generated, system_scores=scored))
    t3 = time.perf_counter()
    n = max(len(messages_list), 1)
    return out, {"choose_s": round(t1 - t0, 2), "generate_free_text_s": round(t2 - t1, 2),
                 "choose_system_s": round(t3 - t2, 2),
                 "examples_per_s": round(len(messages_list) / (t3 - t0), 3) if t3 > t0 else None,
                 "s_per_example": round((t3 - t0) / n, 3)}


def choose_system(model, tokenizer, prefix: str, candidates: Sequence[str | None]
                  ) -> tuple[str | None, dict | None]:
    """The ``software_system`` candidate with the highest sequence log-probability after ``prefix`` (the prompt and
    the answer up to ``"software_system":``), and every candidate's score; a single candidate is returned unscored
    (None when there is none)."""
    import torch

    if len(candidates) <= 1:
        return (candidates[0] if candidates else None), None
    with torch.inference_mode():
        lp, _ = candidate_scores(model, tokenizer, _PrefixCache(model), prefix,
                                 [candidate_continuation("software_system", v) for v in candidates])
    scores = dict(zip(candidates, lp.tolist()))
    return candidates[int(np.argmax(lp))], scores
