"""PII redaction that works offline: e-mail addresses, phone numbers and person names become typed placeholders.

Why a hand-written redactor: spaCy/Presidio models download at run time and fail offline. The rules here are
regular expressions anchored on strong evidence, tuned so that what the model needs survives:

* ``EMAIL``: a standard address pattern.
* ``PHONE``: an international ``+`` number, a North-American ``(555) 123-4567`` / ``555-123-4567`` shape, a
  European trunk-prefixed ``020 7946 0958`` shape, or any digit run after a cue word ("phone", "call me at").
  Bare digit runs are never phones, so error codes (``-2147467259``, ``ERROR 1045 (28000)``, ``0x80070005``),
  versions (``3.2.1``), ``IP:port`` and dates survive.
* ``PERSON``: names known from the export's customer/agent columns ("Last, First"), any "<given name>
  <Capitalised surname>" where the given name is in an embedded multicultural list (product-like given names such
  as Crystal or Julia excluded), ``first.last`` user names, a title plus surname ("Mr. Fortner"), and a lone given
  name of three letters or more ("Hi Anna", "Thanks, Omar"): with the product-like names excluded, a capitalised
  given name in a ticket is almost always a person (on the public sample every such hit was one).

Every detector is one compiled pattern plus a ``resolve`` step (which part of a hit is PII, if any), used both to
redact (``re.sub``) and to audit (:func:`find_pii`), so the "no PII left" check sees exactly what the redactor sees.
Known misses: names whose given name is not in the list and that have no other cue ("Xochitl Quispe"), and
phone numbers written without separators or a cue word (indistinguishable from error codes).

Speed: on a Series, each detector first selects candidate texts with an RE2 prefilter run by Arrow (linear time,
vectorised); the Python regex only visits those.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskft_pipeline.core.tickets.names import AMBIGUOUS_FIRST_NAMES, FIRST_NAMES, NOT_SURNAMES

PLACEHOLDERS = {"email": "<EMAIL>", "phone": "<PHONE>", "person": "<PERSON>"}
KINDS: tuple[str, ...] = tuple(PLACEHOLDERS)
NAME_COLUMNS: tuple[str, ...] = ("customer", "agent")

# Explicit whitespace class, shared by the Python patterns and their RE2 prefilters so both agree exactly
# (the cleaner folds exotic Unicode spaces into ' ' before redaction).
_WS = r"[ \t\r\n\f\v]"
_UP, _LO = "A-ZÀ-ÖØ-Þ", "a-zß-öø-ÿ"  # Latin-1 letters: García, Müller, Søren
_SURNAME = rf"(?:(?:van|von|de|da|del|der|di|le|la){_WS}+){{0,2}}(?:Mc|Mac|O'|O’|D')?[{_UP}][{_LO}]+(?:-[{_UP}][{_LO}]+)?"
_TITLE = re.compile(rf"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof)\.?{_WS}+(?P<span>{_SURNAME})\b")
_EMAIL = re.compile(
    r"[A-Za-z0-9._%+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
    r"\.[A-Za-z]{2,}"
)
_PHONE = re.compile(
    r"(?P<span>"
    r"\+[0-9]{1,3}(?:[ .-]?\([0-9]{1,4}\))?(?:[ .-]?[0-9]{2,5}){1,5}"  # +1 (555) 010-1234, +44 20 7946 0958
    r"|(?:1[ .-]?)?\([0-9]{3}\)[ .-]?[0-9]{3}[ .-][0-9]{4}"  # (555) 010-1234
    r"|(?:1[.-])?[0-9]{3}[.-][0-9]{3}[.-][0-9]{4}|[0-9]{3} [0-9]{3} [0-9]{4}"  # 1-555-010-1234, 555.010.1234, 555 010 1234
    r"|0[0-9]{1,4}[ -][0-9]{3,4}[ -]?[0-9]{3,5}"  # 020 7946 0958, 0171-2345678
    r")(?![0-9])"  # backtrack rather than stop inside a digit run
)
_PHONE_CUED = re.compile(
    r"(?i:\b(?:phone|tel|telephone|mobile|cell|cellphone|call me (?:at|on)|reach me (?:at|on)|whatsapp)"
    r"(?:\s*(?:number|no\.?|#))?\s*(?:is\s*)?[:.]?\s*)(?P<span>\+?[0-9][0-9 ().-]{5,}[0-9])"
)


_PHONE_CUE_PREFILTER = r"(?i)(?:phone|tel|mobile|cell|call me|reach me|whatsapp)"
# No \d, \s or \b in prefilters: pandas hands those to Python's re (their meaning differs in RE2), which would
# undo the point of a prefilter. The phone patterns use [0-9] for the same reason (the cleaner applies NFKC, so
# full-width digits are ASCII by then).
_PHONE_PREFILTER = r"\+[0-9]|[0-9]{3}[ .)-]{1,2}[0-9]{3}|0[0-9]{1,4}[ -][0-9]{3}"
_TITLE_PREFILTER = r"(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof)"


@dataclass(frozen=True)
class _Detector:
    """One PII rule: where to look (``pattern``) and which part of a hit is PII (``resolve``; None: not PII).

    ``prefilters`` are RE2-compatible regexes that all match every text the rule could fire on; they run
    vectorised in Arrow (linear time), so the Python regex only visits the few candidate texts.
    """

    kind: str
    pattern: re.Pattern[str]
    resolve: Callable[[re.Match[str]], tuple[int, int] | None]
    prefilters: tuple[str, ...]


def _whole_if(accept: Callable[[re.Match[str]], bool]) -> Callable[[re.Match[str]], tuple[int, int] | None]:
    """A resolver that replaces the ``span`` group (or the whole match) when ``accept`` says so."""

    def resolve(m: re.Match[str]) -> tuple[int, int] | None:
        if not accept(m):
            return None
        return m.span("span") if "span" in m.re.groupindex else m.span()

    return resolve


class Redactor:
    """Replace PII in ticket text with ``<EMAIL>``, ``<PHONE>``, ``<PERSON>``, counting what was replaced.

    ``known_names`` are the export's customer/agent values ("Last, First" or "First Last"); they extend the
    given-name list and are redacted in either order even when the surname looks like a common word.
    """

    def __init__(self, known_names: Iterable[str] = ()):
        self.known_pairs = _known_pairs(known_names)
        firsts = {f for f, _ in self.known_pairs if _usable_first_name(f)} | FIRST_NAMES
        self.first_names = frozenset(firsts)
        self._detectors = self._build_detectors()

    @classmethod
    def from_frame(cls, df: pd.DataFrame, columns: Iterable[str] = NAME_COLUMNS) -> Redactor:
        """A redactor that knows every name in the given columns of a raw export."""
        names: set[str] = set()
        for col in columns:
            if col in df.columns:
                names.update(df[col].dropna().astype(str).unique())
        return cls(sorted(names))

    def _build_detectors(self) -> list[_Detector]:
        names = sorted(self.first_names)
        first = _trie_regex(names)
        first_lower = _trie_regex({f.lower() for f in names if len(f) >= 3})
        any_first = _alternation(names)
        given = rf"(?:{first})(?:-[{_UP}][{_LO}]+)?"  # Jean-Luc
        person = re.compile(
            rf"(?P<first>{given})\b"
            rf"(?:(?:{_WS}+(?P<middle>[{_UP}]\.|{given}))?{_WS}+(?P<last>{_SURNAME})\b)?"
        )
        last_first = re.compile(rf"(?P<last>{_SURNAME}),[ \t]+(?P<first>{first})\b")
        user_name = re.compile(rf"(?:{first_lower})[._][a-z][a-z'-]+\b")
        return [
            _Detector("email", _EMAIL, _whole_if(_word_start), ("@",)),
            _Detector(
                "phone", _PHONE_CUED, _whole_if(lambda m: _digit_count(m) >= 7), (_PHONE_CUE_PREFILTER,)
            ),
            _Detector("phone", _PHONE, _whole_if(self._accept_phone), (_PHONE_PREFILTER,)),
            _Detector(
                "person",
                last_first,
                _whole_if(self._accept_last_first),
                (f"[{_LO}],[ \t]+[{_UP}]", any_first),
            ),
            _Detector("person", person, self._resolve_person, (any_first,)),
            _Detector(
                "person",
                _TITLE,
                _whole_if(lambda m: m.group("span") not in NOT_SURNAMES),
                (_TITLE_PREFILTER,),
            ),
            _Detector("person", user_name, _whole_if(self._accept_user_name), ("[a-z][._][a-z][a-z]",)),
        ]

    @staticmethod
    def _accept_phone(m: re.Match[str]) -> bool:
        """Whole-token numbers of phone length only: not part of an IP, a version, a date or a longer code."""
        s, (start, end) = m.string, m.span()
        before = s[start - 1] if start else " "
        after = s[end : end + 2]
        if before.isalnum() or before in "._:/-+":
            return False
        if after[:1].isalnum() or (after[:1] in ".:/-" and after[1:2].isdigit()):
            return False
        return 7 <= _digit_count(m) <= 15

    def _resolve_person(self, m: re.Match[str]) -> tuple[int, int] | None:
        """Given name + surname → the whole name; else a given name of 3+ letters on its own (with its middle name).

        The surname is any capitalised word except common words ("Anna Support"), unless the export lists that
        exact person ("Anna Key").
        """
        if not _word_start(m):
            return None
        first, last = m.group("first"), m.group("last")
        if last is not None:
            surname = last.split()[-1]
            if (first, surname) in self.known_pairs or surname not in NOT_SURNAMES:
                return m.span()
        if len(first) < 3:
            return None
        middle = m.group("middle")
        return (m.start(), m.end("middle")) if middle and not middle.endswith(".") else m.span("first")

    def _accept_last_first(self, m: re.Match[str]) -> bool:
        return _word_start(m) and (m.group("first"), m.group("last")) in self.known_pairs

    @staticmethod
    def _accept_user_name(m: re.Match[str]) -> bool:
        s, start, end = m.string, m.start(), m.end()
        before = s[start - 1] if start else " "
        return not (before.isalnum() or before in "._@/\\-") and not s.startswith("@", end)

    def redact(self, text: str) -> tuple[str, Counter[str]]:
        """Redacted text and the number of replacements by kind."""
        counts: Counter[str] = Counter()
        for detector in self._detectors:
            text = detector.pattern.sub(_replacer(detector, counts), text)
        return text, counts

    def redact_series(self, texts: pd.Series) -> tuple[pd.Series, Counter[str]]:
        """Redact every text of a Series; each rule's Python regex only visits texts its prefilters select.

        Prefilters run once, on the input: a replacement only ever removes text and inserts a placeholder, so
        it cannot create a hit for a later rule where the input had no candidate.
        """
        counts: Counter[str] = Counter({k: 0 for k in KINDS})
        arrow = texts.fillna("").astype("string[pyarrow]")
        out = arrow.to_numpy(dtype=object)
        masks: dict[str, np.ndarray] = {}
        for detector in self._detectors:
            selected = np.ones(len(out), dtype=bool)
            for prefilter in detector.prefilters:
                if prefilter not in masks:
                    masks[prefilter] = arrow.str.contains(prefilter, regex=True).to_numpy(dtype=bool)
                selected &= masks[prefilter]
            idx = selected.nonzero()[0]
            sub, repl = detector.pattern.sub, _replacer(detector, counts)
            out[idx] = [sub(repl, out[i]) for i in idx]
        return pd.Series(out, index=texts.index, dtype=object), counts

    def find_pii(self, text: str) -> list[str]:
        """Every PII string the detectors find in ``text`` (placeholders are not PII), each reported once."""
        found: list[str] = []
        for detector in self._detectors:
            spans = [span for m in detector.pattern.finditer(text) if (span := detector.resolve(m))]
            found.extend(text[start:end] for start, end in spans)
            if spans:
                text = detector.pattern.sub(_replacer(detector, Counter()), text)
        return found


def _replacer(detector: _Detector, counts: Counter[str]) -> Callable[[re.Match[str]], str]:
    placeholder = PLACEHOLDERS[detector.kind]

    def replace(m: re.Match[str]) -> str:
        span = detector.resolve(m)
        if span is None:
            return m.group(0)
        counts[detector.kind] += 1
        whole, offset = m.group(0), m.start()
        return whole[: span[0] - offset] + placeholder + whole[span[1] - offset :]

    return replace


def _word_start(m: re.Match[str]) -> bool:
    return m.start() == 0 or not (m.string[m.start() - 1].isalnum() or m.string[m.start() - 1] in "_.@")


def _digit_count(m: re.Match[str]) -> int:
    start, end = m.span("span") if "span" in m.re.groupindex else m.span()
    return sum(ch.isdigit() for ch in m.string[start:end])


def _usable_first_name(name: str) -> bool:
    return len(name) >= 2 and name.isalpha() and name[0].isupper() and name not in AMBIGUOUS_FIRST_NAMES


def _known_pairs(names: Iterable[str]) -> frozenset[tuple[str, str]]:
    """(first, last) from "Last, First" or "First [Middle] Last" values; single tokens are ignored."""
    pairs = set()
    for raw in names:
        name = " ".join(str(raw).split())
        if "," in name:
            last, _, first = name.partition(",")
            first, last = first.strip(), last.strip()
        else:
            parts = name.split(" ")
            first, last = (parts[0], parts[-1]) if len(parts) >= 2 else ("", "")
        if first and last:
            pairs.add((first.split(" ")[0], last.split(" ")[-1]))
    return frozenset(pairs)


def _alternation(words: Iterable[str]) -> str:
    """A flat alternation for RE2 prefilters (RE2 compiles it to an automaton; Python's re would not)."""
    return "(?:" + "|".join(re.escape(w) for w in sorted(set(words))) + ")"


def _trie_regex(words: Iterable[str]) -> str:
    """An alternation factored as a prefix tree: one regex step per character instead of one per word."""
    trie: dict = {}
    for word in sorted(set(words)):
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}
    return _trie_to_regex(trie)


def _trie_to_regex(node: dict) -> str:
    branches = [re.escape(ch) + _trie_to_regex(child) for ch, child in sorted(node.items()) if ch]
    optional = "" in node
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if optional:
        return body + "?" if len(branches) == 1 and len(branches[0]) == 1 else f"(?:{body})?"
    return body


_DEFAULT: Redactor | None = None


def default_redactor() -> Redactor:
    """A redactor with the embedded name list only (no export-specific names)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Redactor()
    return _DEFAULT


def redact_series(texts: pd.Series, redactor: Redactor | None = None) -> tuple[pd.Series, Counter[str]]:
    """Module-level convenience: :meth:`Redactor.redact_series` with the default redactor."""
    return (redactor or default_redactor()).redact_series(texts)


def find_pii(text: str, redactor: Redactor | None = None) -> list[str]:
    """PII strings left in ``text`` (used by the "no PII left in the JSONL" check)."""
    return (redactor or default_redactor()).find_pii(text)
