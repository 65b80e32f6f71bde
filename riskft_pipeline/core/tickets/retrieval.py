"""Retrieval hints: the labels of the most similar *training* tickets, as one compact line in the prompt.

TF-IDF cosine (the same word + character n-gram features as the TF-IDF+LR baseline) over the training split only.
A training ticket never sees itself among its neighbours (leave-one-out), and validation, test or new tickets only
ever see training tickets, so no label the model is scored on can leak into its prompt. Pure: scikit-learn + numpy.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from riskft_pipeline.core.baselines import tfidf_features
from riskft_pipeline.core.tickets.prompts import escape_user_text, parse_answer, user_text

HINT_FIELDS: tuple[str, ...] = ("category", "subcategory", "assignment_group")
TOP_LABELS = 3  # per field, the most frequent labels among the neighbours
HINT_PREFIX = "Similar past tickets:"


def strip_hint(text: str) -> str:
    """The ticket text without a hint line (so a hinted prompt is indexed and queried like a plain one)."""
    head, sep, _ = text.rpartition("\n" + HINT_PREFIX)
    return head if sep else text


class TicketIndex:
    """Nearest training tickets by TF-IDF cosine; ``train_rows`` are chat rows whose last turn is the answer."""

    def __init__(self, train_rows: Sequence[dict]):
        self.answers = [parse_answer(r["messages"][-1].get("content")) or {} for r in train_rows]
        self.features = tfidf_features()
        texts = [strip_hint(user_text(r["messages"][:-1])) for r in train_rows]
        self.matrix = self.features.fit_transform(texts)

    def neighbours(self, prompts: Sequence[Sequence[dict]], k: int, exclude: Sequence[int | None] | None = None
                   ) -> list[list[int]]:
        """Indices of the ``k`` most similar training tickets per prompt, most similar first; ``exclude[i]`` is a
        training index prompt ``i`` must not see (itself). Ties keep the training order (stable)."""
        if not len(prompts):
            return []
        q = self.features.transform([strip_hint(user_text(m)) for m in prompts])
        sim = (q @ self.matrix.T).toarray()
        if exclude is not None:
            for i, j in enumerate(exclude):
                if j is not None:
                    sim[i, j] = -np.inf
        k = min(k, self.matrix.shape[0] - (1 if exclude is not None else 0))
        order = np.argsort(-sim, axis=1, kind="stable")[:, :k]
        return [list(map(int, row)) for row in order]

    def hint(self, idx: Sequence[int]) -> str:
        parts = []
        for f in HINT_FIELDS:
            counts = Counter(self.answers[j].get(f) for j in idx).most_common(TOP_LABELS)
            parts.append(f"{f} " + ", ".join(f"{'null' if v is None else v} {n}" for v, n in counts))
        return escape_user_text(f"{HINT_PREFIX} " + "; ".join(parts))


def with_hint(messages: Sequence[dict], hint: str) -> list[dict]:
    """The messages with ``hint`` appended as the last line of the (first) user turn."""
    out, done = [], False
    for m in messages:
        if m.get("role") == "user" and not done:
            m = {**m, "content": f"{strip_hint(m['content'])}\n{hint}"}
            done = True
        out.append(dict(m))
    return out


def add_hints(prompts: Sequence[Sequence[dict]], index: TicketIndex, k: int,
              exclude: Sequence[int | None] | None = None) -> list[list[dict]]:
    """Each prompt (or training row: the answer turn is kept) with its neighbours' labels in the user turn."""
    if k <= 0:
        return [list(m) for m in prompts]
    queries = [[m for m in msgs if m.get("role") != "assistant"] for msgs in prompts]
    return [with_hint(msgs, index.hint(nb)) for msgs, nb in zip(prompts, index.neighbours(queries, k, exclude))]


def hinted_training_rows(rows: Sequence[dict], train_rows: Sequence[dict], positions: Sequence[int], k: int,
                         index: TicketIndex | None = None) -> list[dict]:
    """Training rows (``rows[i]`` is ``train_rows[positions[i]]``) with hints from the *other* training tickets."""
    if k <= 0:
        return [dict(r) for r in rows]
    index = index or TicketIndex(train_rows)
    msgs = add_hints([r["messages"] for r in rows], index, k, exclude=list(positions))
    return [{**r, "messages": m} for r, m in zip(rows, msgs)]
