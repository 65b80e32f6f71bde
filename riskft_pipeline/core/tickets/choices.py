"""A ticket answer assembled by code: the text pieces the adapter scores, and the JSON built from its choices.

Categorical fields are *chosen* among the labels seen in training: for each field, in :data:`FIELDS` order, the
adapter scores every candidate as the continuation of the prompt and the answer so far, exactly as
:func:`~riskft_pipeline.core.tickets.prompts.render_answer` writes it (``{"type":"Incident","category":`` then
``"Network",``). The free-text fields are generated after the chosen ones. The final JSON is rendered by
``render_answer``, so it is valid by construction. Pure: no torch.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from riskft_pipeline.core.tickets.prompts import CATEGORICAL_FIELDS, FIELDS, normalise_answer, parse_answer


def value_text(value: str | None) -> str:
    """One value as ``render_answer`` writes it inside the answer JSON."""
    return json.dumps(value, ensure_ascii=False).replace("<", "\\u003c")


def answer_prefix(chosen: Mapping[str, str | None], field: str) -> str:
    """The answer JSON up to (and including) ``"<field>":``, with ``chosen`` holding every field before it."""
    k = FIELDS.index(field)
    parts = [f"{json.dumps(f)}:{value_text(chosen.get(f))}" for f in FIELDS[:k]]
    return "{" + "".join(p + "," for p in parts) + json.dumps(field) + ":"


def candidate_continuation(field: str, value: str | None) -> str:
    """What follows :func:`answer_prefix` when the field takes ``value``: the value and the delimiter after it (the
    delimiter is part of the scored text, so a label cannot win by being a prefix of a longer one)."""
    last = FIELDS.index(field) == len(FIELDS) - 1
    return value_text(value) + ("}" if last else ",")


def label_space(train_answers: Sequence[Mapping[str, str | None]], fields: Sequence[str] = CATEGORICAL_FIELDS
                ) -> dict[str, list[str | None]]:
    """The candidate labels per field: every value seen in the training answers (``None`` included when a training
    answer left the field empty), sorted with ``None`` first, so the order is the same in every run."""
    out = {}
    for f in fields:
        seen = {a.get(f) for a in train_answers}
        out[f] = ([None] if None in seen else []) + sorted(v for v in seen if v is not None)
    return out


def parse_free_text(prefix: str, generated: str) -> dict[str, str | None] | None:
    """The free-text fields from the generated continuation of ``prefix`` (the answer up to the first free-text
    field): the JSON closed as needed (a continuation cut by the token budget loses only what it did not finish).
    None when nothing can be read."""
    text = prefix + generated
    for tail in ("", "}", '"}', 'null}'):
        parsed = parse_answer(text + tail)
        if parsed is not None:
            return parsed
    return None


def assemble(chosen: Mapping[str, str | None], free: Mapping[str, str | None] | None) -> dict[str, str | None]:
    """The final answer: categorical fields from ``chosen``, free-text ones from ``free`` (None when unreadable)."""
    free = free or {}
    return normalise_answer({f: (chosen.get(f) if f in CATEGORICAL_FIELDS else free.get(f)) for f in FIELDS})
