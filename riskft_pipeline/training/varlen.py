"""Padding-free attention without flash-attention: SDPA run once per packed example.

With ``train.padding_free`` the trl collator concatenates a batch's examples into one row, with per-example position
ids and the boundaries ``cu_seq_lens_q``: the linear layers (most of a small model's work) then see no padding at all.
The attention must still keep examples apart. flash-attention's varlen kernel does that on CUDA; transformers' plain
``sdpa`` instead builds a dense block-diagonal mask over the whole row, so on the CPU a row of eight examples costs 8×
the attention of its parts and loses SDPA's causal fast path. Here each example's slice of the row goes through SDPA
with ``is_causal=True`` (exact: an example never sees another's tokens, and its positions restart at 0), and no
mask is built. Anything without ``cu_seq_lens_q`` (scoring, generation, padded batches) takes transformers' own SDPA
path with its usual mask.

Measured against the padded batches of the CPU recipes in ``benchmarks/bench_training.py``.
"""

from __future__ import annotations

import itertools

#: the attention implementation's registered name (``model.set_attn_implementation(NAME)``)
NAME = "sdpa_varlen"


def register() -> str:
    """Register :data:`NAME` with transformers (attention and mask functions; idempotent) and return it."""
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(NAME, varlen_sdpa_forward)
    # padded batches (scoring, generation) still need sdpa's mask; packed rows get one too but it is never read
    AttentionMaskInterface.register(NAME, sdpa_mask)
    return NAME


def varlen_sdpa_forward(module, query, key, value, attention_mask, cu_seq_lens_q=None, **kwargs):
    """transformers' attention-function signature: ``query`` (1, heads, total, dim) of a packed row, keys and values
    likewise (grouped heads allowed); returns (output (1, total, heads, dim), None)."""
    import torch
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    if cu_seq_lens_q is None or query.shape[0] != 1:
        return sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)
    kwargs.pop("is_causal", None)
    bounds = cu_seq_lens_q.tolist()
    parts = [sdpa_attention_forward(module, query[:, :, s:e], key[:, :, s:e], value[:, :, s:e], None,
                                    is_causal=True, **kwargs)[0]
             for s, e in itertools.pairwise(bounds) if e > s]
    return torch.cat(parts, dim=1), None
