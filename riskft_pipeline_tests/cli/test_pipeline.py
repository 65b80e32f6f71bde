"""``riskft run`` / ``riskft pipeline``: the chains offered are the registry's, and ``all`` refuses a single chain's
options before anything runs."""

from __future__ import annotations

from riskft_pipeline.cli import build_parser, main
from riskft_pipeline.core.tasks import TASKS


def _choices(command: str) -> list[str]:
    sub = next(a for a in build_parser()._actions if a.dest == "command").choices[command]
    return list(next(a for a in sub._actions if a.dest == "chain").choices)


def test_the_chains_offered_are_the_registrys():
    assert _choices("run") == list(TASKS)
    assert _choices("pipeline") == [*TASKS, "all"]


def test_all_chains_refuse_one_chains_input(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("RISKFT_HOME", str(tmp_path / "home"))
    assert main(["pipeline", "all", "--input", "x.csv"]) == 2
    assert "need a single chain" in capsys.readouterr().err
    assert not (tmp_path / "home").exists(), "refused before the home folder is made"
