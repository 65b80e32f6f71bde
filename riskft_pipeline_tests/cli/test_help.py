"""Every `riskft` command explains itself: each option and positional of every (sub)command has help text, and
`--help` of each command prints and exits 0 (a stray ``%`` in a help string would only fail there)."""

from __future__ import annotations

import argparse

import pytest

from riskft_pipeline.cli import build_parser


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """``(words, parser)`` for the parser and every sub-parser below it, each once (an alias names the same parser)."""
    yield path, parser
    seen: set[int] = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                if id(sub) not in seen:
                    seen.add(id(sub))
                    yield from _commands(sub, (*path, name))


COMMANDS = list(_commands(build_parser()))


def test_the_walk_reaches_every_command():
    names = {" ".join(words) for words, _ in COMMANDS}
    assert {"", "init-home", "tickets prepare", "train", "evaluate", "register", "run", "pipeline", "risk mine",
            "risk study", "lineage", "enrich tickets", "enrich changes", "publish"} <= names
    assert "risk evaluate" not in names, "an alias is the same parser, walked once"


@pytest.mark.parametrize("words, parser", COMMANDS, ids=[" ".join(w) or "riskft" for w, _ in COMMANDS])
def test_every_option_and_positional_has_help(words, parser):
    missing = [a.option_strings[0] if a.option_strings else a.dest for a in parser._actions
               if not isinstance(a, argparse._SubParsersAction) and (a.help is None or a.help == argparse.SUPPRESS
                                                                      or not str(a.help).strip())]
    assert not missing, f"riskft {' '.join(words)}: no help for {missing}"


@pytest.mark.parametrize("words, parser", [c for c in COMMANDS if c[0]],
                         ids=[" ".join(w) for w, _ in COMMANDS if w])
def test_every_subcommand_is_described_in_its_parent_listing(words, parser):
    parent = dict(COMMANDS)[words[:-1]]
    listing = {c.dest: c.help for a in parent._actions if isinstance(a, argparse._SubParsersAction)
               for c in a._choices_actions}
    assert (listing.get(words[-1]) or "").strip(), f"riskft {' '.join(words[:-1])} --help lists {words[-1]} bare"


@pytest.mark.parametrize("words", [w for w, _ in COMMANDS], ids=[" ".join(w) or "riskft" for w, _ in COMMANDS])
def test_help_exits_0(words, capsys):
    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args([*words, "--help"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: riskft {' '.join(words)}".rstrip())
    for action in dict(COMMANDS)[words]._actions:
        if action.option_strings and action.help != argparse.SUPPRESS:
            assert action.option_strings[-1] in out
