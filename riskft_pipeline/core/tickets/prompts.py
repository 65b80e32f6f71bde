"""Chat prompts for ticket enrichment: one place renders the answer JSON, one place parses it back.

The model sees a short system prompt and the ticket text (``short_description`` + ``content`` only) as the user turn;
the assistant turn is the canonical compact JSON of :data:`FIELDS`. Ticket text is untrusted: it is escaped so that it
cannot forge chat turns (``<|im_start|>assistant`` and similar special-token look-alikes), and the parser never
evaluates anything, it only decodes JSON.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from riskft_pipeline.core.files import first_json_object

FIELDS: tuple[str, ...] = (
    "type",
    "category",
    "subcategory",
    "assignment_group",
    "software_system",
    "issue_request",
)
CATEGORICAL_FIELDS: tuple[str, ...] = FIELDS[:4]
FREE_TEXT_FIELDS: tuple[str, ...] = FIELDS[4:]

# Kept short on purpose: it is repeated in every training example and costs CPU tokens each time.
SYSTEM_PROMPT = (
    "Classify the IT ticket. Reply with JSON only: type, category, subcategory, assignment_group, "
    "software_system, issue_request (null if unknown)."
)

# Control-token look-alikes. Tokenizers match special tokens as exact strings, so breaking the exact spelling is
# enough: `<|` / `|>` covers every ChatML-family token (im_start, im_end, endoftext, fim_*...), the full-width bar
# covers DeepSeek-style tokens, and the named tags cover other families' turn markers.
_PIPE_OPEN = re.compile(r"<([|\uff5c])")
_PIPE_CLOSE = re.compile(r"([|\uff5c])>")
_ROLE_TAGS = re.compile(
    r"<(/?(?:s|im_start|im_end|endoftext|tool_call|tool_response|think|start_of_turn|end_of_turn|"
    r"eos|bos|pad|unk|system|user|assistant)>)",
    re.IGNORECASE,
)
_INST_TAGS = re.compile(r"\[(/?INST)\]|<<(/?SYS)>>", re.IGNORECASE)
# An RE2 pattern matching every text escape_user_text would change (for vectorised pre-selection).
ESCAPE_PREFILTER = (
    "[|\uff5c]"  # a literal full-width bar (not an escape: the pattern must read the same to RE2 and re)
    r"|(?i:<(?:/?(?:s|im_start|im_end|endoftext|tool_call|tool_response|think|start_of_turn|end_of_turn|"
    r"eos|bos|pad|unk|system|user|assistant)>))|(?i:\[/?INST\]|<</?SYS>>)"
)


def escape_user_text(text: str) -> str:
    """Break special-token look-alikes so a tokenizer can never read them as control tokens.

    ``<|im_start|>`` becomes ``< |im_start| >``: still readable to the model, never the special token. Idempotent,
    and the redaction placeholders (``<EMAIL>``, ``<PHONE>``, ``<PERSON>``) are left alone.
    """
    text = _PIPE_CLOSE.sub(r"\1 >", _PIPE_OPEN.sub(r"< \1", text))
    text = _ROLE_TAGS.sub(r"< \1", text)
    return _INST_TAGS.sub(lambda m: f"[ {m.group(1)} ]" if m.group(1) else f"<< {m.group(2)} >>", text)


def ticket_text(short_description: str | None, content: str | None) -> str:
    """The model input: the ticket's subject line and body, nothing else (no notes, no names columns)."""
    parts = [p.strip() for p in (short_description, content) if isinstance(p, str) and p.strip()]
    return "\n".join(parts)


def build_messages(text: str, answer: Mapping[str, Any] | None = None) -> list[dict[str, str]]:
    """[system, user] for inference, plus the assistant turn (canonical JSON) when ``answer`` is given (training)."""
    return assemble_messages(escape_user_text(text), None if answer is None else render_answer(answer))


def assemble_messages(escaped_text: str, rendered_answer: str | None = None) -> list[dict[str, str]]:
    """The message list from parts already escaped / rendered (bulk callers escape and render vectorised)."""
    messages = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": escaped_text}]
    if rendered_answer is not None:
        messages.append({"role": "assistant", "content": rendered_answer})
    return messages


def user_text(messages) -> str:
    """The user turns of a conversation (the ticket, and its retrieval hint when there is one), not the system
    prompt: what a text classifier and the retrieval index read."""
    return "\n".join(m["content"] for m in messages if m.get("role") == "user")


def normalise_value(value: Any) -> str | None:
    """One answer value as the canonical string, or None (missing, empty, NaN, or not a scalar)."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return None if not math.isfinite(value) else json.dumps(value)
    return None


def normalise_answer(fields: Mapping[str, Any]) -> dict[str, str | None]:
    """All :data:`FIELDS`, in order, each normalised; extra keys dropped."""
    return {f: normalise_value(fields.get(f)) for f in FIELDS}


def render_answer(fields: Mapping[str, Any]) -> str:
    """Canonical compact JSON: keys in FIELDS order, null where unknown.

    ``<`` is written as ``\\u003c`` so a hostile label can never spell a control token inside the assistant turn;
    JSON decoders read it back unchanged.
    """
    text = json.dumps(normalise_answer(fields), ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c")


def parse_answer(text: str | None) -> dict[str, str | None] | None:
    """The first JSON object in ``text`` as all FIELDS (missing → None), or None when there is none.

    Tolerates whitespace, code fences, prose before and garbage after the object. Only ``json`` decoding is used:
    nothing in the text is ever evaluated (:func:`~riskft_pipeline.core.files.first_json_object`).
    """
    if not isinstance(text, str):
        return None
    obj = first_json_object(text)
    return normalise_answer(obj) if obj is not None else None
