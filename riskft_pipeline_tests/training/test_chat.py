"""Training and inference read the same prompt, token for token; loss is on the answer only; over-long examples
are dropped and counted; an example that would train on nothing is an error."""

from __future__ import annotations

import pytest

from riskft_pipeline.core.tickets.prompts import parse_answer
from riskft_pipeline.training.chat import (
    IGNORE_INDEX,
    LabelMaskError,
    encode_example,
    prompt_ids,
    prompt_text,
    render,
)
from riskft_pipeline.training.sft import encode_rows

from .conftest import ticket_rows


def test_training_text_starts_with_the_inference_prompt(tokenizer):
    messages = ticket_rows(1)[0]["messages"]
    train_text = render(tokenizer, messages, add_generation_prompt=False)
    infer_text = prompt_text(tokenizer, messages[:-1])
    assert train_text.startswith(infer_text)
    assert infer_text.endswith("<|im_start|>assistant\n")
    assert train_text[len(infer_text):] == messages[-1]["content"] + "<|im_end|>\n"


def test_labels_cover_exactly_the_answer_and_its_end_of_turn(tokenizer):
    messages = ticket_rows(1)[0]["messages"]
    ex = encode_example(tokenizer, messages)
    prompt = prompt_ids(tokenizer, messages[:-1])
    n = len(prompt)
    assert ex["input_ids"][:n] == prompt
    assert ex["labels"][:n] == [IGNORE_INDEX] * n
    answer_ids = ex["labels"][n:]
    assert IGNORE_INDEX not in answer_ids
    assert answer_ids == ex["input_ids"][n:]
    assert tokenizer.eos_token_id in answer_ids  # the model learns to stop
    decoded = tokenizer.decode(answer_ids, skip_special_tokens=True)
    assert parse_answer(decoded) == parse_answer(messages[-1]["content"])


def test_too_long_examples_are_dropped_and_counted_never_cut(tokenizer):
    rows = ticket_rows(6)
    rows[2]["messages"][1]["content"] += " extra words" * 40
    rows[4]["messages"][1]["content"] += " more text" * 60
    lengths = [len(encode_example(tokenizer, r["messages"])["input_ids"]) for r in rows]
    limit = max(lengths[k] for k in (0, 1, 3, 5))
    assert lengths[2] > limit and lengths[4] > limit
    kept, dropped = encode_rows(tokenizer, rows, limit)
    assert dropped == 2
    assert [len(e["input_ids"]) for e in kept] == [lengths[k] for k in (0, 1, 3, 5)]


def test_example_without_label_tokens_is_an_error(tokenizer):
    """A template that never renders the assistant turn leaves nothing to learn: trl would train on it silently."""
    drops_answers = (
        "{% for m in messages %}{% if m['role'] != 'assistant' %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}"
        "<|im_end|>\n{% endif %}{% endfor %}<|im_start|>assistant\n"
    )
    original = tokenizer.chat_template
    tokenizer.chat_template = drops_answers
    try:
        with pytest.raises(LabelMaskError, match="no label token"):
            encode_rows(tokenizer, ticket_rows(3), 512)
    finally:
        tokenizer.chat_template = original


def test_example_must_end_with_the_answer(tokenizer):
    messages = ticket_rows(1)[0]["messages"][:-1]
    with pytest.raises(ValueError, match="assistant turn"):
        encode_example(tokenizer, messages)
