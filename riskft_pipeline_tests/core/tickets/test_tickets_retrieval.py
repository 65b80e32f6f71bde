"""Retrieval hints come from the training split only and never from the ticket itself."""

from __future__ import annotations

from riskft_pipeline.core.tickets.prompts import build_messages, user_text
from riskft_pipeline.core.tickets.retrieval import (
    HINT_PREFIX,
    TicketIndex,
    add_hints,
    hinted_training_rows,
)


def _row(text: str, group: str, sub: str = "ERROR") -> dict:
    return {"messages": build_messages(text, {"type": "Incident", "category": "SOFTWARE", "subcategory": sub,
                                              "assignment_group": group})}


TRAIN = [
    _row("Outlook crashes when opening attachments", "DESK"),
    _row("Outlook freezes on attachments again", "DESK"),
    _row("VPN drops every hour from home", "NETWORK", "CONNECTIVITY"),
    _row("VPN tunnel disconnects at home office", "NETWORK", "CONNECTIVITY"),
    _row("Please install Zoom on my laptop", "<UNIQUE GROUP>", "INSTALL"),
]


def test_a_new_ticket_sees_its_most_similar_training_tickets():
    index = TicketIndex(TRAIN)
    [hinted] = add_hints([build_messages("VPN keeps dropping at home")], index, k=2)
    line = user_text(hinted).splitlines()[-1]
    assert line.startswith(HINT_PREFIX)
    assert "assignment_group NETWORK 2" in line and "subcategory CONNECTIVITY 2" in line
    assert user_text(hinted).startswith("VPN keeps dropping at home")  # the ticket text is kept as it was


def test_a_training_ticket_never_sees_itself():
    index = TicketIndex(TRAIN)
    # the Zoom ticket is the only one with its group: with itself excluded, its label cannot appear
    rows = hinted_training_rows([TRAIN[4]], TRAIN, [4], k=4, index=index)
    assert "UNIQUE GROUP" not in user_text(rows[0]["messages"])
    assert rows[0]["messages"][-1] == TRAIN[4]["messages"][-1]  # the answer turn is untouched
    nb = index.neighbours([TRAIN[0]["messages"][:-1]], k=4, exclude=[0])[0]
    assert 0 not in nb and len(nb) == 4


def test_only_training_rows_are_indexed():
    """Hints are labels of training tickets: a validation/test ticket's own label can only appear if a training
    ticket has it (the index holds nothing else)."""
    index = TicketIndex(TRAIN)
    assert len(index.answers) == len(TRAIN)
    [hinted] = add_hints([build_messages("Install Teams please")], index, k=5)
    groups = {"DESK", "NETWORK", "\\u003cUNIQUE GROUP>", "< UNIQUE GROUP>", "<UNIQUE GROUP>"}
    line = user_text(hinted).splitlines()[-1]
    named = [p.split(" ", 1)[1] for p in line.split("; ") if p.startswith("assignment_group")]
    assert named and all(any(g in n for g in groups) for n in named)


def test_hinting_twice_replaces_the_hint_and_k0_is_a_no_op():
    index = TicketIndex(TRAIN)
    once = add_hints([build_messages("Outlook crash")], index, k=2)
    twice = add_hints(once, index, k=2)
    assert twice == once and user_text(twice[0]).count(HINT_PREFIX) == 1
    plain = [build_messages("Outlook crash")]
    assert add_hints(plain, index, k=0) == plain
