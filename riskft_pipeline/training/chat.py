"""The one place that turns chat messages into token ids, for training and inference alike.

Training and inference must see the same prompt, token for token (a template or EOS mismatch between them is a known
fine-tuning trap). Both call :func:`prompt_ids`; training appends the assistant turn as rendered by the same
template, and :func:`encode_example` checks that the prompt is an exact prefix of the full conversation.
"""

from __future__ import annotations

from collections.abc import Sequence

from riskft_pipeline.core.errors import InputError

IGNORE_INDEX = -100


class ChatTemplateError(InputError):
    """The tokenizer's chat template renders the prompt differently alone than inside the full conversation."""


class LabelMaskError(InputError):
    """A training example would contribute no loss: every label token is masked."""


def render(tokenizer, messages: Sequence[dict], add_generation_prompt: bool) -> str:
    """The chat template's text for ``messages`` (the generation prompt opens the assistant turn)."""
    return tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=add_generation_prompt)


def encode(tokenizer, text: str) -> list[int]:
    """Token ids of rendered chat text; the template already holds every special token, so none are added."""
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def prompt_text(tokenizer, messages: Sequence[dict]) -> str:
    """What the model reads before it answers: the conversation so far plus the assistant generation prompt."""
    return render(tokenizer, messages, add_generation_prompt=True)


def prompt_ids(tokenizer, messages: Sequence[dict]) -> list[int]:
    return encode(tokenizer, prompt_text(tokenizer, messages))


def encode_example(tokenizer, messages: Sequence[dict]) -> dict[str, list[int]]:
    """``{"input_ids", "labels"}`` for one conversation whose last turn is the answer: loss on the answer (and the
    end-of-turn token the template closes it with), never on the prompt."""
    if not messages or messages[-1].get("role") != "assistant":
        raise InputError("a training example must end with an assistant turn (the answer to learn)")
    prompt = prompt_ids(tokenizer, messages[:-1])
    full = encode(tokenizer, render(tokenizer, messages, add_generation_prompt=False))
    if full[: len(prompt)] != prompt:
        raise ChatTemplateError(
            "the chat template renders the prompt differently inside the full conversation, so training and "
            "inference would see different prompts; use a template whose generation prompt is a prefix of the "
            "assistant turn"
        )
    labels = [IGNORE_INDEX] * len(prompt) + full[len(prompt):]
    return {"input_ids": full, "labels": labels}


def check_label_tokens(examples: Sequence[dict], ids: Sequence) -> None:
    """Raise if any example has no label token (it would be trained on nothing, silently)."""
    empty = [str(i) for i, ex in zip(ids, examples) if all(t == IGNORE_INDEX for t in ex["labels"])]
    if empty:
        shown = ", ".join(empty[:5]) + (" ..." if len(empty) > 5 else "")
        raise LabelMaskError(
            f"{len(empty)} training example(s) keep no label token after masking the prompt ({shown}); "
            "check that the chat template renders the assistant turn"
        )
