"""Batched generation returns exactly what one-at-a-time greedy generation returns; scores and choice
probabilities are proper probabilities; an adapter is only loaded on the base it was trained on."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from riskft_pipeline.core.errors import InputError
from riskft_pipeline.training.chat import encode, prompt_text
from riskft_pipeline.training.infer import (
    MIN_SHARED_PREFIX,
    choice_first_tokens,
    choice_probabilities,
    generate,
    generate_with_scores,
    load_for_inference,
    shared_prefix_len,
)
from riskft_pipeline.training.sft import ADAPTER_META

from .conftest import ticket_rows


@pytest.fixture(scope="module")
def tuned(trained):
    return load_for_inference(trained["out"] / "adapter")


def _prompts(n: int) -> list[list[dict]]:
    rows = ticket_rows(n)
    rows[1]["messages"][1]["content"] += " It also happens on my second laptop, every single time I try."
    return [r["messages"][:-1] for r in rows]


def test_batched_generation_equals_one_at_a_time(tuned):
    model, tokenizer = tuned
    prompts = _prompts(4)
    batched = generate(model, tokenizer, prompts, batch_size=4, max_new_tokens=24, progress=False)
    single = [generate(model, tokenizer, [p], batch_size=1, max_new_tokens=24, progress=False)[0] for p in prompts]
    assert batched == single
    assert tokenizer.padding_side == "left"


def test_generation_scores_are_per_token_probabilities(tuned):
    model, tokenizer = tuned
    gens = generate_with_scores(model, tokenizer, _prompts(3), batch_size=2, max_new_tokens=16, progress=False)
    texts = generate(model, tokenizer, _prompts(3), batch_size=2, max_new_tokens=16, progress=False)
    assert [g.text for g in gens] == texts
    for g in gens:
        assert len(g.token_ids) == len(g.token_probs) > 0
        assert all(0.0 < p <= 1.0 for p in g.token_probs)
        assert tokenizer.eos_token_id not in g.token_ids


def test_choice_probabilities_rows_sum_to_one(tuned):
    model, tokenizer = tuned
    probs = choice_probabilities(model, tokenizer, _prompts(5), choices=("Incident", "Request"),
                                 answer_prefix='{"type":"', batch_size=2)
    assert probs.shape == (5, 2)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-6)
    assert (probs >= 0).all()
    # batching does not change the scores
    one = np.vstack([choice_probabilities(model, tokenizer, [p], choices=("Incident", "Request"),
                                          answer_prefix='{"type":"', batch_size=1) for p in _prompts(5)])
    np.testing.assert_allclose(probs, one, atol=1e-4)


def test_shared_prefix_scoring_equals_whole_prompts(tuned):
    """The prefix every prompt shares runs once; each batch continues from a copy of its cache."""
    model, tokenizer = tuned
    prompts = _prompts(5)
    kw = {"choices": ("Incident", "Request"), "answer_prefix": '{"type":"', "batch_size": 2}
    shared = choice_probabilities(model, tokenizer, prompts, share_prefix=True, **kw)
    whole = choice_probabilities(model, tokenizer, prompts, share_prefix=False, **kw)
    np.testing.assert_allclose(shared, whole, atol=1e-5)
    seqs = [encode(tokenizer, prompt_text(tokenizer, p)) for p in prompts]
    assert shared_prefix_len(seqs) >= MIN_SHARED_PREFIX  # the cached path really ran


def test_shared_prefix_len_leaves_each_sequence_a_token():
    assert shared_prefix_len([]) == 0
    assert shared_prefix_len([[1, 2, 3]]) == 2
    assert shared_prefix_len([[1, 2, 3, 4], [1, 2, 3]]) == 2
    assert shared_prefix_len([[1, 2, 5], [1, 2, 3, 4], [1, 9]]) == 1
    assert shared_prefix_len([[7], [7]]) == 0


def test_risk_tiers_have_distinct_first_tokens(tokenizer):
    firsts = choice_first_tokens(tokenizer, 'x<|im_start|>assistant\n{"risk": "', ("low", "medium", "high"))
    assert len(set(firsts)) == 3


def test_choices_sharing_a_first_token_are_refused(tokenizer):
    with pytest.raises(ValueError, match="share a first token"):
        choice_first_tokens(tokenizer, '{"risk": "', ("high", "high risk"))


def test_adapter_on_another_base_is_refused(trained, tmp_path):
    copy = tmp_path / "adapter"
    shutil.copytree(trained["out"] / "adapter", copy)
    meta = json.loads((copy / ADAPTER_META).read_text())
    meta["base_model"]["identity"]["weights_sha256"] = "0" * 64
    (copy / ADAPTER_META).write_text(json.dumps(meta))
    with pytest.raises(InputError, match="trained on base weights"):
        load_for_inference(copy)


def test_folder_without_metadata_is_not_an_adapter(tmp_path):
    with pytest.raises(InputError, match="not a riskft adapter"):
        load_for_inference(tmp_path)
