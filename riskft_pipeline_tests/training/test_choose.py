"""Label scoring on the real offline base: the cached, batched scores equal a plain full-sequence forward pass, and
the assembled answers are valid JSON whose categorical values are training labels."""

from __future__ import annotations

import numpy as np
import pytest

from riskft_pipeline.core.tickets.choices import answer_prefix, candidate_continuation
from riskft_pipeline.core.tickets.prompts import (
    CATEGORICAL_FIELDS,
    build_messages,
    parse_answer,
    render_answer,
)


@pytest.fixture(scope="module")
def base(offline_base):
    from riskft_pipeline.training.infer import load_for_inference

    return load_for_inference(None)


def _brute_force(model, tokenizer, prefix: str, continuations: list[str]) -> np.ndarray:
    """Σ log p over each continuation's own tokens, one uncached forward per candidate."""
    import torch

    from riskft_pipeline.training.chat import encode

    full = [encode(tokenizer, prefix + c) for c in continuations]
    shared = min(min(next((i for i, (a, b) in enumerate(zip(full[0], f)) if a != b), min(len(full[0]), len(f)))
                     for f in full), min(len(f) for f in full) - 1)
    out = []
    with torch.inference_mode():
        for ids in full:
            logp = torch.log_softmax(model(input_ids=torch.tensor([ids])).logits[0].float(), dim=-1)
            out.append(sum(float(logp[j - 1, ids[j]]) for j in range(shared, len(ids))))
    return np.array(out)


def test_cached_batched_scores_equal_full_forward_passes(base):
    import torch

    from riskft_pipeline.training.chat import prompt_text
    from riskft_pipeline.training.choose import _PrefixCache, candidate_logprobs

    model, tokenizer = base
    prompt = prompt_text(tokenizer, build_messages("Outlook crashes when I open attachments"))
    labels = [None, "SOFTWARE", "SOFT", "HARDWARE <x>", "NETWORK ACCESS MANAGEMENT"]
    for field, chosen in (("category", {"type": "Incident"}), ("assignment_group",
                                                               {"type": "Incident", "category": "SOFTWARE",
                                                                "subcategory": "ERROR"})):
        prefix = prompt + answer_prefix(chosen, field)
        conts = [candidate_continuation(field, v) for v in labels]
        cache = _PrefixCache(model)
        with torch.inference_mode():
            # the cache first holds a shorter prefix, then is extended: the scores must not depend on that
            cache.advance(tokenizer(prompt, add_special_tokens=False)["input_ids"])
            fast = candidate_logprobs(model, tokenizer, cache, prefix, conts)
        np.testing.assert_allclose(fast, _brute_force(model, tokenizer, prefix, conts), atol=2e-3)
        assert cache.cache.get_seq_length() == len(cache.ids), "the candidates' tokens are cropped off again"
        with torch.inference_mode():  # a cache holding a LONGER prefix is cropped back, not rebuilt or reused whole
            cache.advance(tokenizer(prefix + conts[-1], add_special_tokens=False)["input_ids"])
            again = candidate_logprobs(model, tokenizer, cache, prefix, conts)
        np.testing.assert_allclose(again, fast, atol=1e-4)


def test_choose_answers_assembles_valid_answers_from_training_labels(base):
    from riskft_pipeline.training.choose import choose_answers

    model, tokenizer = base
    space = {"type": ["Incident", "Request"], "category": [None, "ACCOUNT", "SOFTWARE"],
             "subcategory": ["ACCESS", "ERROR"], "assignment_group": [None, "DESKTOP SUPPORT", "IAM"]}
    msgs = [build_messages("SAP rejects my login"), build_messages("Zoom needs installing")]
    answers, timing = choose_answers(model, tokenizer, msgs, space, max_new_tokens=24)
    assert len(answers) == 2 and timing["choose_s"] > 0
    for a in answers:
        assert parse_answer(render_answer(a.answer)) == a.answer
        for f in CATEGORICAL_FIELDS:
            assert a.answer[f] in space[f]
            assert a.distributions[f].shape == (len(space[f]),)
            assert a.distributions[f].sum() == pytest.approx(1.0)
            assert a.answer[f] == space[f][int(a.distributions[f].argmax())]


def test_choosing_without_free_text_changes_no_categorical_score(base):
    """Without free text (validation) the categorical scores and choices are those of the full pass, the free-text
    fields are empty and nothing is generated."""
    from riskft_pipeline.core.tickets.prompts import FREE_TEXT_FIELDS
    from riskft_pipeline.training.choose import choose_answers

    model, tokenizer = base
    space = {"type": ["Incident", "Request"], "category": [None, "ACCOUNT", "SOFTWARE"],
             "subcategory": ["ACCESS", "ERROR", "INSTALL"], "assignment_group": [None, "DESKTOP SUPPORT", "IAM"]}
    msgs = [build_messages(t) for t in ("SAP rejects my login", "Zoom needs installing on my laptop",
                                        "VPN drops every hour since Monday")]
    full, _ = choose_answers(model, tokenizer, msgs, space, max_new_tokens=16)
    only, timing = choose_answers(model, tokenizer, msgs, space, free_text=False)
    for a, c in zip(full, only):
        assert a.free_text_raw  # the full pass generated something to leave out
        for f in CATEGORICAL_FIELDS:
            np.testing.assert_allclose(c.distributions[f], a.distributions[f], atol=1e-4)
            if a.logprobs and f in a.logprobs:
                np.testing.assert_allclose(c.logprobs[f], a.logprobs[f], atol=1e-3)
        assert {f: c.answer[f] for f in CATEGORICAL_FIELDS} == {f: a.answer[f] for f in CATEGORICAL_FIELDS}
        assert all(c.answer[f] is None for f in FREE_TEXT_FIELDS) and c.free_text_raw == ""
    assert timing["generate_free_text_s"] == 0.0


def test_the_inference_loops_report_progress_to_a_plain_callable(base):
    """What evaluation's progress rests on: each loop calls ``(done, total)`` with 0 first, then as examples finish
    (per conversation for the choice, per batch for scoring and generation), ending at the total."""
    from riskft_pipeline.training.choose import choose_answers
    from riskft_pipeline.training.infer import choice_probabilities, generate

    model, tokenizer = base
    msgs = [build_messages(t) for t in ("SAP rejects my login", "Zoom needs installing", "VPN drops every hour")]
    calls: dict[str, list] = {"choose": [], "score": [], "generate": []}
    choose_answers(model, tokenizer, msgs, {"type": ["Incident", "Request"], "category": ["ACCOUNT"],
                                            "subcategory": ["ACCESS"], "assignment_group": [None]},
                   max_new_tokens=4, progress=lambda *c: calls["choose"].append(c))
    choice_probabilities(model, tokenizer, msgs, choices=("Incident", "Request"), answer_prefix='{"type":"',
                         batch_size=2, on_progress=lambda *c: calls["score"].append(c))
    generate(model, tokenizer, msgs, batch_size=2, max_new_tokens=2, progress=False,
             on_progress=lambda *c: calls["generate"].append(c))
    assert calls["choose"] == [(0, 3), (1, 3), (2, 3), (3, 3)]
    assert calls["score"] == [(0, 3), (2, 3), (3, 3)] and calls["generate"] == [(0, 3), (2, 3), (3, 3)]


def test_software_system_is_chosen_among_the_named_systems_by_their_scores(base):
    """With the training systems, software_system is the best-scored candidate (scores equal a plain forward pass
    over the answer so far), the generated value is kept aside, and nothing else in the answer moves. (The bare
    base rarely closes its JSON: where the continuation cannot be read, the choice still runs, from None.)"""
    from riskft_pipeline.core.tickets.choices import SystemNames
    from riskft_pipeline.training.chat import prompt_text
    from riskft_pipeline.training.choose import choose_answers

    model, tokenizer = base
    names = SystemNames(["Zoom audio drops", "Outlook will not start", "Teams status stuck"],
                        ["Zoom", "Outlook", "Microsoft Teams"])
    space = {"type": ["Incident", "Request"], "category": [None, "SOFTWARE"], "subcategory": ["ERROR"],
             "assignment_group": [None, "DESKTOP SUPPORT"]}
    msgs = [build_messages(t) for t in ("Zoom invites from Outlook open the wrong meeting",
                                        "Outlook calendar shows Teams meetings twice")]
    plain, _ = choose_answers(model, tokenizer, msgs, space, max_new_tokens=32)
    chosen, timing = choose_answers(model, tokenizer, msgs, space, max_new_tokens=32, systems=names,
                                    grounded=False)
    assert timing["choose_system_s"] >= 0
    n_scored = 0
    for p, c, m in zip(plain, chosen, msgs):
        assert c.system_generated == p.answer["software_system"]
        cands = names.candidates(m[-1]["content"], c.system_generated, grounded=False)
        assert c.answer["software_system"] in cands
        assert {f: v for f, v in c.answer.items() if f != "software_system"} == {
            f: v for f, v in p.answer.items() if f != "software_system"}
        if len(cands) > 1:
            n_scored += 1
            assert list(c.system_scores) == cands
            prefix = prompt_text(tokenizer, m) + answer_prefix(
                {f: c.answer[f] for f in CATEGORICAL_FIELDS}, "software_system")
            brute = _brute_force(model, tokenizer, prefix,
                                 [candidate_continuation("software_system", v) for v in cands])
            np.testing.assert_allclose(list(c.system_scores.values()), brute, atol=2e-3)
            assert c.answer["software_system"] == cands[int(np.argmax(brute))]
            # its confidence: the chosen candidate's share of the candidates' softmax
            assert c.free_text_confidence("software_system") == pytest.approx(
                float(np.exp(brute.max()) / np.exp(brute).sum()), abs=1e-3)
        assert c.free_text_confidence("issue_request") == c.free_text_conf
        assert p.free_text_confidence("software_system") == p.free_text_conf  # no choice: the generation's
    assert n_scored == 2  # both tickets name two known systems


def test_a_software_system_confidence_belongs_to_the_value_shipped():
    from riskft_pipeline.training.choose import ChosenAnswer

    def answer(system, generated, scores=None):
        return ChosenAnswer(answer={"software_system": system, "issue_request": "Crash"}, distributions={},
                            free_text_raw="", free_text_parsed=True, free_text_conf=0.4, system_generated=generated,
                            system_scores=scores)

    scored = answer("Zoom", "Microsoft Edge", {"Microsoft Edge": np.log(0.25), "Zoom": np.log(0.75)})
    assert scored.free_text_confidence("software_system") == pytest.approx(0.75)
    assert scored.free_text_confidence("issue_request") == 0.4  # still the generation's
    assert answer("Zoom", "Microsoft Edge").free_text_confidence("software_system") is None  # replaced unscored
    assert answer("Zoom", "Zoom").free_text_confidence("software_system") == 0.4  # as generated
