"""A ticket answer assembled by code: the text pieces the adapter scores, and the JSON built from its choices.

Categorical fields are *chosen* among the labels seen in training: for each field, in :data:`FIELDS` order, the
adapter scores every candidate as the continuation of the prompt and the answer so far, exactly as
:func:`~riskft_pipeline.core.tickets.prompts.render_answer` writes it (``{"type":"Incident","category":`` then
``"Network",``). The free-text fields are generated after the chosen ones. The final JSON is rendered by
``render_answer``, so it is valid by construction. Pure: no torch.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

from riskft_pipeline.core.metrics import normalise_text
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


# --- software_system: the known systems a ticket names -----------------------------------------------------------


def _words(text: str | None) -> tuple[str, ...]:
    return tuple(normalise_text(text).split())


def _contains(words: Sequence[str], part: Sequence[str]) -> bool:
    """``part`` occurs in ``words`` as a contiguous run of whole words."""
    n = len(part)
    return n > 0 and any(tuple(words[i:i + n]) == tuple(part) for i in range(len(words) - n + 1))


class SystemNames:
    """The ``software_system`` values seen in training, and which of them a ticket's text names.

    A system's *phrases* are its name (without a parenthesised suffix: ``Duo Security (Cisco)`` is named by "duo
    security") and each word of its label. A phrase names the system when, among the training tickets whose text
    contains it, more than half have that system as their answer: "logrhythm" names ``LogRhythm SIEM``, while
    "microsoft" or "computer", which training tickets pair with many systems, name nothing. A ticket names a system
    when it contains one of its phrases, unless every such phrase is only part of a longer phrase of another system
    it names ("docker" inside "docker enterprise"). Learned from the training split only; matching is on whole
    :func:`normalise_text` words (case and punctuation aside)."""

    def __init__(self, train_texts: Sequence[str], train_systems: Sequence[str | None]):
        self.labels = sorted({s for s in train_systems if s is not None})
        self._canonical = {}
        for s in self.labels:
            self._canonical.setdefault(_words(s), s)
        texts = [_words(t) for t in train_texts]
        holding: dict[str, set[int]] = {}  # word -> the training tickets whose text has it
        for i, words in enumerate(texts):
            for w in set(words):
                holding.setdefault(w, set()).add(i)
        self.phrases: dict[tuple[str, ...], str] = {}
        for s in self.labels:
            name = _words(re.sub(r"\([^)]*\)", " ", s)) or _words(s)
            for phrase in {name, *((w,) for w in _words(s))} - {()}:  # a label of punctuation only has none
                rows = set.intersection(*(holding.get(w, set()) for w in phrase))
                answers = [train_systems[i] for i in rows if _contains(texts[i], phrase)]
                if answers and 2 * sum(a == s for a in answers) > len(answers):
                    self.phrases[phrase] = s

    def known(self, value: str | None) -> str | None:
        """The known label ``value`` is, case and punctuation aside (None when it is none)."""
        return None if value is None else self._canonical.get(_words(value))

    def _found(self, words: Sequence[str]) -> dict[str, list[tuple[str, ...]]]:
        """Per known system, its phrases that occur in ``words``."""
        present = set(words)
        found: dict[str, list[tuple[str, ...]]] = {}
        for phrase, s in self.phrases.items():
            if present.issuperset(phrase) and _contains(words, phrase):
                found.setdefault(s, []).append(phrase)
        return found

    @staticmethod
    def _inside_longer(phrase: Sequence[str], found: dict, system: str | None) -> bool:
        """``phrase`` is part of a longer found phrase of a system other than ``system``."""
        return any(len(q) > len(phrase) and _contains(q, phrase) for t, qs in found.items() if t != system for q in qs)

    def _named(self, found: dict) -> list[str]:
        return [s for s in self.labels if s in found and not all(self._inside_longer(p, found, s) for p in found[s])]

    def mentioned(self, text: str) -> list[str]:
        """The known systems ``text`` names, in label order."""
        return self._named(self._found(_words(text)))

    def expansions(self, value: str | None) -> list[str]:
        """The known systems whose full label contains ``value``'s words when ``value`` is no known label itself
        (``LogRhythm`` → ``LogRhythm SIEM``); empty for a known label or None."""
        if value is None or self.known(value) is not None:
            return []
        words = _words(value)
        return [s for s in self.labels if _contains(_words(s), words)]

    def candidates(self, text: str, generated: str | None, grounded: bool = True) -> list[str | None]:
        """What the adapter chooses ``software_system`` among for one ticket: the known systems the text names, and
        the generated value (as its known label where it is one, case aside) unless the text names known systems
        and not the generated value, or names it only inside a longer name of another (``grounded``). A generated
        value that is a short form of known labels is replaced by them. ``grounded=False``: the generated value and
        every known system named or expanded. The generated value first; no duplicates."""
        words = _words(text)
        found = self._found(words)
        mentioned = self._named(found)
        expanded = self.expansions(generated)
        value = self.known(generated) or generated
        keep = True
        if grounded and value is not None:
            own = _words(value)
            keep = not expanded and (not mentioned or (_contains(words, own)
                                                       and not self._inside_longer(own, found, value)))
        out = ([value] if keep else []) + expanded + mentioned
        return list(dict.fromkeys(out))
