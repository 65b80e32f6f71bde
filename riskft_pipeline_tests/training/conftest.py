"""Fixtures for the training tests: the real offline base (converted once per session into the suite's RISKFT_HOME),
a small hand-written chat data folder, the tiny recipe, and one tiny adapter trained once and shared."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest

from riskft_pipeline.core.config import Recipe, load_recipe
from riskft_pipeline.core.files import write_jsonl
from riskft_pipeline.core.tickets.prompts import build_messages
from riskft_pipeline.paths import configs_dir

# Spinning OpenMP threads on a shared 2-core machine made torch ~5x slower here (measured while 5 jobs shared the
# cores); passive waiting avoids it. Set before torch loads (also inherited by the resume test's subprocesses).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

_SYSTEMS = [  # (system, problem, type, category, subcategory, group)
    ("Outlook", "crashes when I open the calendar", "Incident", "SOFTWARE", "ERROR", "DESKTOP SUPPORT"),
    ("Slack", "does not show new messages", "Incident", "SOFTWARE", "MALFUNCTION", "COLLABORATION"),
    ("SAP ERP", "rejects my login", "Incident", "ACCOUNT", "ACCESS", "USER ACCESS MANAGEMENT"),
    ("Zoom", "needs to be installed on my laptop", "Request", "SOFTWARE", "INSTALLATION", None),
]
_OPENERS = ["Hi, {s} {p}.", "{s} {p} since this morning.", "Please help: {s} {p}.", "Since the update {s} {p}."]


def ticket_rows(n: int) -> list[dict]:
    """``n`` chat examples cycling through a few systems and phrasings, each with its known answer."""
    rows = []
    for k, ((system, problem, typ, cat, sub, group), opener) in enumerate(
        itertools.islice(itertools.cycle(itertools.product(_SYSTEMS, _OPENERS)), n)
    ):
        text = f"{system} problem\n" + opener.format(s=system, p=problem)
        answer = {"type": typ, "category": cat, "subcategory": sub, "assignment_group": group,
                  "software_system": system, "issue_request": f"{system} {problem.split()[0].capitalize()}"}
        rows.append({"id": f"T{k:03d}", "messages": build_messages(text, answer)})
    return rows


@pytest.fixture(scope="session")
def chat_data(tmp_path_factory) -> Path:
    """train (16), val (4), test (4) in the format of ``riskft tickets prepare``."""
    d = tmp_path_factory.mktemp("chat_data")
    rows = ticket_rows(24)
    write_jsonl(d / "train.jsonl", rows[:16])
    write_jsonl(d / "val.jsonl", rows[16:20])
    write_jsonl(d / "test.jsonl", rows[20:])
    return d


@pytest.fixture(scope="session")
def tiny_recipe() -> Recipe:
    return load_recipe(configs_dir() / "tickets_tiny.yaml")


@pytest.fixture(scope="session")
def offline_base(session_home):
    """The converted offline base (first call converts the GGUF, ~20 s; every later load reads the cache)."""
    from riskft_pipeline.core.config import BaseModelConfig
    from riskft_pipeline.training.base_model import resolve_base

    return resolve_base(BaseModelConfig())


@pytest.fixture(scope="session")
def tokenizer(offline_base):
    from riskft_pipeline.training.base_model import load_tokenizer

    return load_tokenizer(offline_base.path)


@pytest.fixture(scope="session")
def trained(offline_base, tiny_recipe, chat_data, tmp_path_factory) -> dict:
    """One tiny training run shared by the inference and evaluation tests; returns its result dict plus the
    logs its callback received."""
    from riskft_pipeline.training.sft import train

    logs: list[tuple[int, dict]] = []
    out = tmp_path_factory.mktemp("run")
    result = train(tiny_recipe, chat_data, out, callbacks=[lambda step, log: logs.append((step, log))],
                   progress=False)
    return {"result": result, "logs": logs, "out": out}
