"""What the command modules share (cli/common.py): ``print_json`` prints what scripts parse, ``CliError`` becomes
exit code 2 and one line on stderr."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from riskft_pipeline.cli import EXIT_USAGE, main
from riskft_pipeline.cli.common import CliError, print_json


def test_print_json_is_indented_json_that_parses_back(capsys):
    print_json({"rows": 3, "reasons": {"empty": 1}, "ok": True, "missing": None})
    out = capsys.readouterr().out
    assert json.loads(out) == {"rows": 3, "reasons": {"empty": 1}, "ok": True, "missing": None}
    assert out.startswith('{\n  "rows": 3,') and out.endswith("}\n"), "two-space indent, one trailing newline"


def test_print_json_keeps_non_ascii_and_writes_paths_and_dates_as_text(capsys):
    print_json({"system": "Zürich 東京", "out": Path("/tmp/run1"), "at": dt.date(2026, 1, 2)})
    out = capsys.readouterr().out
    assert "Zürich 東京" in out, "not \\u-escaped: a person reads it"
    assert json.loads(out) == {"system": "Zürich 東京", "out": "/tmp/run1", "at": "2026-01-02"}


def test_print_json_prints_a_list_as_is(capsys):
    print_json([1, "a"])
    assert json.loads(capsys.readouterr().out) == [1, "a"]


def test_cli_error_is_an_exception_with_its_message():
    with pytest.raises(CliError, match="--repo-id must look like"):
        raise CliError("--repo-id must look like OWNER/NAME")
    assert issubclass(CliError, Exception) and not issubclass(CliError, (ValueError, OSError))


def test_a_cli_error_is_exit_code_2_and_one_line(capsys):
    # `riskft publish` rejects the repository id with a CliError before touching MLflow or the network
    code = main(["publish", "ticket-extractor", "@champion", "--repo-id", "no slash\nhere", "--dry-run"])
    captured = capsys.readouterr()
    assert code == EXIT_USAGE == 2
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("riskft: error: --repo-id must look like OWNER/NAME")
    assert "Traceback" not in captured.err


def test_with_debug_the_cli_error_is_raised(capsys):
    with pytest.raises(CliError):
        main(["publish", "ticket-extractor", "@champion", "--repo-id", "bad", "--dry-run", "--debug"])
