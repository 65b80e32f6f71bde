"""The answer assembled by code: the pieces the adapter scores are exactly render_answer's text."""

from __future__ import annotations

from riskft_pipeline.core.tickets.choices import (
    SystemNames,
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


# training tickets: (text, software_system)
TRAIN = [("LogRhythm alarms are not firing", "LogRhythm SIEM"),
         ("The LogRhythm console is slow", "LogRhythm SIEM"),
         ("Duo push never arrives on my phone", "Duo Security (Cisco)"),
         ("Microsoft Teams calls drop", "Microsoft Teams"),
         ("Microsoft Outlook will not open", "Outlook"),
         ("Microsoft Edge crashes", "Microsoft Edge"),
         ("Zoom audio is choppy", "Zoom"),
         ("Docker build fails", "Docker"),
         ("Docker daemon crashed", "Docker"),
         ("Docker Enterprise licence expired", "Docker Enterprise"),
         ("Printer jammed", None)]
NAMES = SystemNames([t for t, _ in TRAIN], [s for _, s in TRAIN])


def test_known_systems_are_the_training_values_without_null():
    assert NAMES.labels == ["Docker", "Docker Enterprise", "Duo Security (Cisco)", "LogRhythm SIEM", "Microsoft Edge",
                            "Microsoft Teams", "Outlook", "Zoom"]
    assert NAMES.known("microsoft  EDGE") == "Microsoft Edge" and NAMES.known("Edge") is None


def test_a_ticket_names_a_system_by_a_phrase_training_ties_to_it():
    assert NAMES.mentioned("zoom keeps freezing") == ["Zoom"]
    assert NAMES.mentioned("Cannot log in to Duo.") == ["Duo Security (Cisco)"]  # "duo": training ties it
    assert NAMES.mentioned("LogRhythm dashboards are empty") == ["LogRhythm SIEM"]
    # "microsoft" is in three names and training pairs it with three systems: it names none of them
    assert NAMES.mentioned("a Microsoft licence question") == []
    assert NAMES.mentioned("Zoomed in too far") == []  # whole words only
    assert NAMES.mentioned("Microsoft Edge shows a blank page in zoom") == ["Microsoft Edge", "Zoom"]


def test_a_name_inside_a_longer_named_system_does_not_count_on_its_own():
    assert NAMES.mentioned("docker pull times out") == ["Docker"]
    assert NAMES.mentioned("Docker Enterprise console is down") == ["Docker Enterprise"]
    assert NAMES.candidates("Docker Enterprise console is down", "Docker") == ["Docker Enterprise"]


def test_a_phrase_needs_training_tickets_that_tie_it_to_the_system():
    other = SystemNames(["MFA prompt loops", "Duo push goes to the old phone"], ["Duo Security (Cisco)", "Okta"])
    assert other.mentioned("duo app asks again") == []
    assert other.mentioned("duo security asks again") == []  # the name never occurs in training: unbacked
    generic = SystemNames(["computer is slow", "computer will not boot", "Zoom on my computer freezes"],
                          ["Computer", "Windows", "Zoom"])
    assert generic.mentioned("my computer is slow") == []  # training pairs "computer" with three systems
    assert generic.mentioned("zoom is slow") == ["Zoom"]


def test_a_short_generated_value_expands_to_the_known_labels_that_contain_it():
    assert NAMES.expansions("LogRhythm") == ["LogRhythm SIEM"]
    assert NAMES.expansions("Microsoft") == ["Microsoft Edge", "Microsoft Teams"]
    assert NAMES.expansions("Zoom") == [] and NAMES.expansions("ZOOM") == []  # a known label stays itself
    assert NAMES.expansions(None) == [] and NAMES.expansions("Splunk") == []


def test_candidates_keep_the_generated_value_only_where_the_text_backs_it():
    # the text names Zoom, not the generated Edge: Zoom alone (grounded); both when open
    assert NAMES.candidates("Zoom meeting will not start", "Microsoft Edge") == ["Zoom"]
    assert NAMES.candidates("Zoom meeting will not start", "Microsoft Edge", grounded=False) == [
        "Microsoft Edge", "Zoom"]
    # named by the text: kept, first, as its known label
    assert NAMES.candidates("Zoom in Microsoft Edge fails", "microsoft edge") == ["Microsoft Edge", "Zoom"]
    # a system nobody saw in training, named by the text: kept
    assert NAMES.candidates("Splunk search is down", "Splunk") == ["Splunk"]
    # the text names no known system: the generated value, whatever it is
    assert NAMES.candidates("my laptop is slow", "Windows") == ["Windows"]
    assert NAMES.candidates("my laptop is slow", None) == [None]
    # a short form: replaced by the labels it expands to
    assert NAMES.candidates("LogRhythm rules fail", "LogRhythm") == ["LogRhythm SIEM"]


def test_labels_without_words_are_known_but_never_named():
    odd = SystemNames(["the ??? tool hangs", "Zoom drops"], ["???", "Zoom"])
    assert odd.labels == ["???", "Zoom"] and odd.mentioned("??? zoom") == ["Zoom"]
    assert odd.candidates("nothing known here", "???") == ["???"]
