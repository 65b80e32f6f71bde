"""Inference with a trained adapter: batched greedy generation and one-forward-pass choice probabilities.

Prompts are built by :mod:`riskft_pipeline.training.chat`, the same code that built the training examples, so the
model reads at inference exactly the prefix it was trained on. Generation is batched with left padding and sorted by
length (less padding), and the outputs come back in the caller's order.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from riskft_pipeline.core.adapter_files import read_adapter_meta  # the one reader; re-exported
from riskft_pipeline.core.config import BaseModelConfig
from riskft_pipeline.core.errors import InputError
from riskft_pipeline.training.base_model import load_base, load_tokenizer
from riskft_pipeline.training.chat import encode, prompt_ids, prompt_text


@dataclass
class Generation:
    """One generated answer: its text, its token ids (eos excluded) and each token's probability under the model
    (greedy: the max of the softmax at that step); empty ``token_probs`` when scores were not asked for."""

    text: str
    token_ids: list[int]
    token_probs: list[float] = field(default_factory=list)


def load_for_inference(adapter_dir: Path | None, base_cfg: BaseModelConfig | None = None,
                       merge: bool = True):
    """(model, tokenizer) ready for :func:`generate`: eval mode, left padding, on the GPU when there is one.

    With ``adapter_dir``, the base is the one the adapter was trained on (from ``riskft_adapter.json``) unless
    ``base_cfg`` overrides it, and a base whose weights differ from the recorded ones is refused. ``merge`` folds
    LoRA into the base weights, so generation pays no adapter overhead.
    """
    meta = read_adapter_meta(adapter_dir) if adapter_dir is not None else None
    if meta is not None:
        check_safetensors_adapter(Path(adapter_dir))  # before any weights are loaded
    if base_cfg is None:
        base_cfg = BaseModelConfig(**meta["base_model"]["config"]) if meta else BaseModelConfig()
    model, tokenizer, identity = load_base(base_cfg, for_training=False)
    if meta is not None:
        _check_same_base(meta["base_model"]["identity"], identity, adapter_dir)
        model, tokenizer = _attach_adapter(model, Path(adapter_dir), merge and not base_cfg.load_in_4bit)
    _to_accelerator(model, base_cfg)
    model.eval()
    return model, tokenizer


def _check_same_base(recorded: dict, actual: dict, adapter_dir: Path) -> None:
    if recorded.get("weights_sha256") != actual.get("weights_sha256"):
        raise InputError(f"adapter {adapter_dir} was trained on base weights {recorded.get('weights_sha256')} but "
                         f"the base resolved here has {actual.get('weights_sha256')}; point base_model at the "
                         "original base")


ADAPTER_WEIGHTS = "adapter_model.safetensors"


def check_safetensors_adapter(adapter_dir: Path) -> None:
    """Refuse an adapter folder without ``adapter_model.safetensors``. PEFT would fall back to a pickle
    ``adapter_model.bin`` (``torch.load``, with ``weights_only=True`` today, but still a pickle); only safetensors
    adapters are loaded here, like base models."""
    if not (Path(adapter_dir) / ADAPTER_WEIGHTS).is_file():
        pickles = sorted(p.name for p in Path(adapter_dir).glob("*.bin"))
        found = f" (found {', '.join(pickles)}: pickle weights are never loaded)" if pickles else ""
        raise InputError(f"adapter folder {adapter_dir} has no {ADAPTER_WEIGHTS}: only safetensors adapters are "
                         f"loaded{found}")


def _attach_adapter(model, adapter_dir: Path, merge: bool):
    check_safetensors_adapter(adapter_dir)  # PEFT has no switch to refuse adapter_model.bin: check before it looks
    from peft import PeftModel
    from transformers import GenerationConfig

    model = PeftModel.from_pretrained(model, adapter_dir, is_trainable=False)
    if merge:
        model = model.merge_and_unload()
    if (adapter_dir / "generation_config.json").is_file():
        model.generation_config = GenerationConfig.from_pretrained(adapter_dir)
    return model, load_tokenizer(adapter_dir, padding_side="left")


def _to_accelerator(model, cfg: BaseModelConfig) -> None:
    import torch

    if torch.cuda.is_available() and not cfg.load_in_4bit:  # 4-bit models are placed at load time
        model.to("cuda")


# --- generation ------------------------------------------------------------------------------------------------

#: ``(done, total)``: examples finished of all, called with 0 before the first batch and after each batch
OnProgress = Callable[[int, int], None]


class _Done:
    """Counts finished examples for an ``on_progress`` callback (nothing without one)."""

    def __init__(self, on_progress: OnProgress | None, total: int) -> None:
        self.on_progress, self.total, self.done = on_progress, total, 0
        if on_progress is not None:
            on_progress(0, total)

    def add(self, n: int) -> None:
        self.done += n
        if self.on_progress is not None:
            self.on_progress(self.done, self.total)


def _batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices grouped longest-first into batches of similar length (little padding; a memory problem shows up in
    the first batch, not the last)."""
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


def _left_pad(seqs: Sequence[list[int]], pad_id: int, device):
    import torch

    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for row, s in enumerate(seqs):
        ids[row, width - len(s):] = torch.tensor(s, dtype=torch.long)
        mask[row, width - len(s):] = 1
    return ids.to(device), mask.to(device)


def _greedy_config(model, tokenizer, max_new_tokens: int, with_scores: bool):
    gen = copy.deepcopy(model.generation_config)
    gen.update(do_sample=False, num_beams=1, temperature=None, top_p=None, top_k=None, max_new_tokens=max_new_tokens,
               pad_token_id=tokenizer.pad_token_id, eos_token_id=gen.eos_token_id or tokenizer.eos_token_id,
               return_dict_in_generate=True, output_logits=with_scores)
    return gen


def _stop_ids(gen_config) -> set[int]:
    eos = gen_config.eos_token_id
    return set(eos) if isinstance(eos, list) else {eos}


def generate_with_scores(model, tokenizer, messages_list: Sequence[Sequence[dict]], *, batch_size: int = 16,
                         max_new_tokens: int = 96, progress: bool = True,
                         with_scores: bool = True, on_progress: OnProgress | None = None) -> list[Generation]:
    """Greedy answers to each conversation (the assistant turn that follows it), in input order."""
    return generate_from_ids(model, tokenizer, [prompt_ids(tokenizer, m) for m in messages_list],
                             batch_size=batch_size, max_new_tokens=max_new_tokens, progress=progress,
                             with_scores=with_scores, on_progress=on_progress)


def generate_from_ids(model, tokenizer, prompts: Sequence[list[int]], *, batch_size: int = 16,
                      max_new_tokens: int = 96, progress: bool = True, with_scores: bool = True,
                      on_progress: OnProgress | None = None) -> list[Generation]:
    """Greedy continuation of each token-id prompt (already rendered: a chat prompt, possibly with the start of the
    answer), in input order. ``progress``: a progress bar; ``on_progress(done, total)``: examples finished, called
    with 0 first and after each batch."""
    import torch
    from tqdm.auto import tqdm

    gen_config = _greedy_config(model, tokenizer, max_new_tokens, with_scores)
    stops = _stop_ids(gen_config)
    results: list[Generation | None] = [None] * len(prompts)
    batches = _batches([len(p) for p in prompts], batch_size)
    done = _Done(on_progress, len(prompts))
    with torch.inference_mode():
        for batch in tqdm(batches, desc="generate", unit="batch", disable=not progress):
            ids, mask = _left_pad([prompts[i] for i in batch], tokenizer.pad_token_id, model.device)
            out = model.generate(input_ids=ids, attention_mask=mask, generation_config=gen_config)
            new = out.sequences[:, ids.shape[1]:].tolist()
            probs = _chosen_probs(out.logits, out.sequences[:, ids.shape[1]:]) if with_scores else None
            for row, i in enumerate(batch):
                results[i] = _one(tokenizer, new[row], probs[row] if probs is not None else None, stops)
            done.add(len(batch))
    return results  # type: ignore[return-value]


HEAL_TOKENS = 3


def healed_prefix(tokenizer, prompt: str, answer: str) -> tuple[list[int], str]:
    """Token ids to continue an answer from, and the answer text they hold.

    Cutting an answer mid-way (tickets: right after ``"software_system":``) leaves a token boundary the model never saw in training
    (there ``:"`` is one token): it then answers ``null`` (measured: exact match .000 instead of .83). So the last
    :data:`HEAL_TOKENS` tokens of the answer so far are dropped and the model writes them again itself; only the
    free-text fields are read from what it writes."""
    ids = encode(tokenizer, prompt + answer)
    keep = len(ids) - HEAL_TOKENS
    dropped = tokenizer.decode(ids[keep:])
    if keep > 0 and answer.endswith(dropped) and len(dropped) < len(answer):
        return ids[:keep], answer[: len(answer) - len(dropped)]
    return ids, answer


def generate_after(model, tokenizer, messages_list: Sequence[Sequence[dict]], answer_starts: Sequence[str], *,
                   batch_size: int = 16, max_new_tokens: int = 96, progress: bool = True,
                   on_progress: OnProgress | None = None) -> list[tuple[str, str]]:
    """Greedy continuation of each conversation's answer from a given start (e.g. the risk answer up to the
    justification, for a tier chosen elsewhere); returns ``(answer text it continues, generated text)`` per row, the
    start re-written by :func:`healed_prefix` where the cut fell inside a token."""
    prefixes = [healed_prefix(tokenizer, prompt_text(tokenizer, m), start)
                for m, start in zip(messages_list, answer_starts)]
    gens = generate_from_ids(model, tokenizer, [ids for ids, _ in prefixes], batch_size=batch_size,
                             max_new_tokens=max_new_tokens, progress=progress, with_scores=False,
                             on_progress=on_progress)
    return [(kept, g.text) for (_, kept), g in zip(prefixes, gens)]


def _chosen_probs(step_logits, new_tokens) -> list[list[float]]:
    """Probability of each generated token at its step, fp32 softmax of the raw logits."""
    import torch

    logits = torch.stack(step_logits, dim=1).float()  # (batch, steps, vocab)
    p = torch.softmax(logits, dim=-1).gather(-1, new_tokens[:, : logits.shape[1], None]).squeeze(-1)
    return p.tolist()


def _one(tokenizer, new: list[int], probs: list[float] | None, stops: set[int]) -> Generation:
    end = next((k for k, t in enumerate(new) if t in stops), len(new))
    ids = new[:end]
    return Generation(text=tokenizer.decode(ids, skip_special_tokens=True), token_ids=ids,
                      token_probs=list(probs[:end]) if probs is not None else [])


def generate(model, tokenizer, messages_list: Sequence[Sequence[dict]], *, batch_size: int = 16,
             max_new_tokens: int = 96, progress: bool = True, on_progress: OnProgress | None = None) -> list[str]:
    """Greedy answer texts, in input order (batched, left padded, stops at eos)."""
    gens = generate_with_scores(model, tokenizer, messages_list, batch_size=batch_size,
                                max_new_tokens=max_new_tokens, progress=progress, with_scores=False,
                                on_progress=on_progress)
    return [g.text for g in gens]


# --- choice probabilities --------------------------------------------------------------------------------------


def choice_first_tokens(tokenizer, context: str, choices: Sequence[str]) -> list[int]:
    """The token each choice starts with when it follows ``context`` (tokenised together, as in training)."""
    base = encode(tokenizer, context)
    firsts = []
    for choice in choices:
        full = encode(tokenizer, context + choice)
        if full[: len(base)] != base or len(full) == len(base):
            raise ValueError(f"choice {choice!r} does not tokenise as a continuation of the answer prefix")
        firsts.append(full[len(base)])
    if len(set(firsts)) != len(firsts):
        raise ValueError(f"choices {list(choices)} share a first token; their probabilities cannot be read in one "
                         "forward pass")
    return firsts


def common_len(a: Sequence[int], b: Sequence[int]) -> int:
    """How many leading tokens ``a`` and ``b`` share."""
    n = min(len(a), len(b))
    k = 0
    while k < n and a[k] == b[k]:
        k += 1
    return k


def shared_prefix_len(seqs: Sequence[Sequence[int]]) -> int:
    """Tokens every sequence starts with, leaving each at least one token of its own (0 for no sequences)."""
    if not seqs:
        return 0
    shared = min(len(s) for s in seqs) - 1
    for s in seqs[1:]:
        shared = min(shared, common_len(seqs[0], s))
    return max(shared, 0)


#: Below this many shared tokens, running the prefix once is not worth a cache copy per batch.
MIN_SHARED_PREFIX = 4


def choice_probabilities(model, tokenizer, messages_list: Sequence[Sequence[dict]],
                         choices: Sequence[str] = ("low", "medium", "high"), *, answer_prefix: str = '{"risk": "',
                         batch_size: int = 32, progress: bool = False, share_prefix: bool = True,
                         on_progress: OnProgress | None = None) -> np.ndarray:
    """``(n, len(choices))`` probabilities of each choice as the answer, from ONE forward pass per batch: the prompt
    plus ``answer_prefix``, softmax (fp32) at the last position over the first token of each choice, renormalised
    over the choices. Rows sum to 1. ``on_progress(done, total)``: as in :func:`generate_from_ids`.

    ``share_prefix``: the tokens every prompt starts with (system prompt, chat markup: about a quarter of a
    metrics-only change prompt) run once; each batch continues from a copy of their KV cache with only its own
    tokens, left-padded after the prefix. Same probabilities as running every prompt whole (tested)."""
    import torch
    from tqdm.auto import tqdm

    texts = [prompt_text(tokenizer, m) + answer_prefix for m in messages_list]
    if not texts:
        return np.zeros((0, len(choices)))
    token_ids = torch.tensor(choice_first_tokens(tokenizer, texts[0], choices))
    seqs = [encode(tokenizer, t) for t in texts]
    shared = shared_prefix_len(seqs) if share_prefix else 0
    prefix_cache = _prefix_cache(model, seqs[0][:shared]) if shared >= MIN_SHARED_PREFIX else None
    if prefix_cache is None:
        shared = 0
    out = np.zeros((len(seqs), len(choices)), dtype=np.float64)
    done = _Done(on_progress, len(seqs))
    with torch.inference_mode():
        for batch in tqdm(_batches([len(s) for s in seqs], batch_size), desc="score", disable=not progress):
            ids, mask = _left_pad([seqs[i][shared:] for i in batch], tokenizer.pad_token_id, model.device)
            positions = shared + (mask.cumsum(-1) - 1).clamp(min=0)
            kwargs = {}
            if prefix_cache is not None:
                kwargs["cache"] = copy.deepcopy(prefix_cache)
                kwargs["cache"].batch_repeat_interleave(len(batch))
                mask = torch.cat([mask.new_ones((len(batch), shared)), mask], dim=1)
            logits = model(input_ids=ids, attention_mask=mask, position_ids=positions, logits_to_keep=1,
                           **kwargs).logits
            picked = torch.softmax(logits[:, -1, :].float(), dim=-1)[:, token_ids.to(logits.device)]
            out[batch] = (picked / picked.sum(-1, keepdim=True)).double().cpu().numpy()
            done.add(len(batch))
    return out


def _prefix_cache(model, prefix: Sequence[int]):
    """The KV cache of ``prefix`` (batch of one), or None when the model did not fill it (then every prompt runs
    whole)."""
    import torch
    from transformers import DynamicCache

    cache = DynamicCache()
    with torch.inference_mode():
        model(input_ids=torch.tensor([list(prefix)], dtype=torch.long, device=model.device), cache=cache,
              use_cache=True, logits_to_keep=1)
    return cache if cache.get_seq_length() == len(prefix) else None
