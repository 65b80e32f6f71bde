"""The answer assembled by code: the pieces the adapter scores are exactly render_answer's text."""

from __future__ import annotations

from riskft_pipeline.core.tickets.choices import (
    answer_prefix,
    assemble,
    candidate_continuation,
    label_space,
    parse_free_text,
)
from riskft_pipeline.core.tickets.prompts import CATEGORICAL_FIELDS, FIELDS, FREE_TEXT_FIELDS, render_answer

ANSWER = {"type": "Incident", "category": "Soft<ware>", "subcategory": None, "assignment_group": 'Desk "A"',
          "software_system": "Outlook", "issue_request": "Crash"}


def test_prefix_plus_candidate_is_exactly_the_rendered_answer():
    rendered = render_answer(ANSWER)
    for f in FIELDS:
        chosen = {g: ANSWER[g] for g in FIELDS[: FIELDS.index(f)]}
        piece = answer_prefix(chosen, f) + candidate_continuation(f, ANSWER[f])
        assert rendered.startswith(piece), f
    assert answer_prefix({k: ANSWER[k] for k in FIELDS[:-1]}, FIELDS[-1]) + candidate_continuation(
        FIELDS[-1], ANSWER[FIELDS[-1]]) == rendered


def test_no_candidate_text_is_a_prefix_of_another():
    labels = ["Net", "Network", None, "Net work"]
    texts = [candidate_continuation("category", v) for v in labels]
    assert all(not b.startswith(a) for a in texts for b in texts if a != b)


def test_label_space_is_the_training_labels_in_a_fixed_order():
    answers = [{"type": "Request", "category": None}, {"type": "Incident", "category": "HW"}]
    space = label_space(answers, ("type", "category"))
    assert space == {"type": ["Incident", "Request"], "category": [None, "HW"]}


def test_free_text_read_from_a_continuation_even_when_cut():
    chosen = {f: ANSWER[f] for f in CATEGORICAL_FIELDS}
    prefix = answer_prefix(chosen, FREE_TEXT_FIELDS[0])
    assert parse_free_text(prefix, '"Outlook","issue_request":"Crash"}') ["issue_request"] == "Crash"
    cut = parse_free_text(prefix, '"Outlook","issue_request":"Cra')
    assert cut is not None and cut["software_system"] == "Outlook"
    assert parse_free_text(prefix, "garbage ] without json") is None


def test_assemble_takes_categorical_from_the_choice_and_free_text_from_generation():
    chosen = {f: ANSWER[f] for f in CATEGORICAL_FIELDS}
    free = {"type": "IGNORED", "software_system": " Zoom ", "issue_request": None}
    out = assemble(chosen, free)
    assert out["type"] == "Incident" and out["software_system"] == "Zoom" and out["issue_request"] is None
    assert list(out) == list(FIELDS)
    assert assemble(chosen, None)["software_system"] is None
