"""Chat prompts for change risk: the user turn describes a change as a reviewer would see it; the assistant turn is
``{"risk": "low|medium|high", "justification": "..."}``.

The user turn is kept compact (about 60 tokens for metrics alone) because CPU training pays for every token of every
example: the metrics in words, each key metric's percentile in the training period (``p97`` = larger than 97% of
history), and the training-period bug rate of changes with a similar risk profile. When the change came from git, the
commit message's first line and a compact diff summary follow (truncated): text a tabular model cannot read.

``risk`` is the first key, so the tier word directly follows the fixed prefix :data:`ANSWER_PREFIX`: one forward pass
over ``prompt + ANSWER_PREFIX`` gives the three tier probabilities (the ranking score) without generating anything.
Commit text is untrusted: it is escaped with the ticket chain's :func:`escape_user_text` so it cannot forge turns.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from riskft_pipeline.core.files import first_json_object
from riskft_pipeline.core.risk.context import HistoryStats
from riskft_pipeline.core.tickets.prompts import escape_user_text

TIERS: tuple[str, ...] = ("low", "medium", "high")
ANSWER_PREFIX = '{"risk": "'
SYSTEM_PROMPT = "Rate this code change's defect risk. Reply JSON: risk, justification."
MAX_MESSAGE_CHARS = 100
MAX_DIFF_CHARS = 100


@dataclass(frozen=True)
class PromptText:
    """How much commit text the user turn carries, in characters after whitespace is collapsed (0 leaves a part
    out): the first line of the message and the diff summary (per file: change type, path, lines added/removed, in
    the miner's order, largest first). The recipe's ``risk`` section sets it (:meth:`of`); training, evaluation and
    enrichment build their prompts with the same one."""

    message_chars: int = MAX_MESSAGE_CHARS
    diff_chars: int = MAX_DIFF_CHARS

    @classmethod
    def of(cls, cfg: Any) -> PromptText:
        """From a recipe's ``risk`` section (:class:`~riskft_pipeline.core.config.RiskConfig`; None: the defaults)."""
        if cfg is None:
            return cls()
        if not cfg.include_text:
            return METRICS_ONLY
        return cls(cfg.message_chars, cfg.diff_chars)


DEFAULT_TEXT = PromptText()
METRICS_ONLY = PromptText(0, 0)


def _num(value: float) -> str:
    """Counts as plain integers (no thousands separators: fewer tokens, and the checker reads them back)."""
    return str(round(float(value)))


def _pct(stats: HistoryStats, feature: str, value: float) -> str:
    return f"p{round(stats.percentile(feature, float(value)))}"


def _plural(n: float, word: str) -> str:
    return f"{_num(n)} {word}" + ("" if _num(n) == "1" else "s")


def _truncate(text: Any, limit: int) -> str:
    if not isinstance(text, str) or limit <= 0:
        return ""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def first_line(message: Any) -> str:
    return message.strip().splitlines()[0] if isinstance(message, str) and message.strip() else ""


def size_fragment(r: Mapping[str, Any], stats: HistoryStats) -> str:
    return f"+{_num(r['la'])}/-{_num(r['ld'])} lines ({_pct(stats, 'la', r['la'])})"


def spread_fragment(r: Mapping[str, Any], stats: HistoryStats) -> str:
    text = f"{_plural(r['nf'], 'file')} ({_pct(stats, 'nf', r['nf'])})"
    if _num(r["nd"]) != "1":
        text += f" in {_num(r['nd'])} dirs"
    if _num(r["ns"]) != "1":
        text += f", {_num(r['ns'])} subsystems"
    return text


def files_fragment(r: Mapping[str, Any], stats: HistoryStats) -> str:
    return (f"files: size {_pct(stats, 'lt', r['lt'])}, {_plural(r['nuc'], 'change')}, "
            f"{_plural(r['ndev'], 'dev')}")


def author_fragment(r: Mapping[str, Any], stats: HistoryStats) -> str:
    return f"author: {_plural(r['exp'], 'change')} ({_pct(stats, 'exp', r['exp'])})"


def similar_fragment(r: Mapping[str, Any], stats: HistoryStats) -> str:
    return f"similar changes {_num(100 * stats.similar_rate_row(r))}% buggy"


def change_description(row: Mapping[str, Any] | pd.Series, stats: HistoryStats, *,
                       text: PromptText = DEFAULT_TEXT) -> str:
    """The user turn: what a reviewer sees, compared with the training period (never with later data).

    Built from the same fragments a justification cites (:mod:`~riskft_pipeline.core.risk.justify`), so a model can
    justify by copying facts it was shown, and the faithfulness checker can verify every one of them.
    ``text``: how much of the commit message and diff summary follow (:data:`METRICS_ONLY`: none, the metrics-only
    arm of a comparison).
    """
    parts = [size_fragment(row, stats), spread_fragment(row, stats)]
    if int(row["fix"]):
        parts.append("bug fix")
    parts += [files_fragment(row, stats), author_fragment(row, stats), similar_fragment(row, stats)]
    out = "; ".join(parts) + "."
    if text == METRICS_ONLY:
        return out
    message = _truncate(first_line(row.get("message")), text.message_chars)
    if message:
        out += f"\nMessage: {message}"
    diff = _truncate(row.get("diff_summary"), text.diff_chars)
    if diff:
        out += f"\nDiff: {diff}"
    return escape_user_text(out)


def render_answer(tier: str, justification: str) -> str:
    """Canonical answer JSON, ``risk`` first. ``<`` is written ``\\u003c`` so no answer can spell a control token."""
    if tier not in TIERS:
        raise ValueError(f"unknown tier {tier!r} (expected one of {', '.join(TIERS)})")
    text = json.dumps({"risk": tier, "justification": justification}, ensure_ascii=False)
    return text.replace("<", "\\u003c")


def parse_answer(text: str | None) -> dict[str, str] | None:
    """``{"risk", "justification"}`` from the first JSON object in ``text`` whose ``risk`` is a tier, else None.

    Tolerates prose or code fences around the object and a truncated justification is not recovered (None): only
    ``json`` decoding is used, nothing is evaluated (:func:`~riskft_pipeline.core.files.first_json_object`, which
    tries at most :data:`~riskft_pipeline.core.files.MAX_JSON_ATTEMPTS` ``{`` positions).
    """
    if not isinstance(text, str):
        return None
    obj = first_json_object(text, lambda o: str(o.get("risk", "")).strip().lower() in TIERS)
    if obj is None:
        return None
    just = obj.get("justification")
    return {"risk": str(obj["risk"]).strip().lower(), "justification": just if isinstance(just, str) else ""}


def build_messages(row: Mapping[str, Any] | pd.Series, stats: HistoryStats,
                   answer: tuple[str, str] | None = None, *, text: PromptText = DEFAULT_TEXT
                   ) -> list[dict[str, str]]:
    """[system, user] for scoring and generation, plus the assistant turn when ``answer = (tier, justification)``."""
    messages = [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": change_description(row, stats, text=text)},
    ]
    if answer is not None:
        messages.append({"role": "assistant", "content": render_answer(*answer)})
    return messages
