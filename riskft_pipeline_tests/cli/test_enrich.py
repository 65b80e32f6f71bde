"""``riskft enrich <kind>``: one subcommand per task, its default model the task's champion, its extra flags the
task's enrichment options."""

from __future__ import annotations

from riskft_pipeline.cli import build_parser, main
from riskft_pipeline.core.tasks import TASKS


def test_one_subcommand_per_task_with_its_champion_and_options():
    parser = build_parser()
    for spec in TASKS.values():
        args = parser.parse_args(["enrich", spec.enrich_kind, "--input", "a.csv", "--out", "b.csv"])
        assert args.model == spec.champion_uri
        assert hasattr(args, "no_justify") is ("justify" in spec.enrich_options)


def test_a_missing_input_is_one_line_and_exit_2(tmp_path, capsys):
    code = main(["enrich", "changes", "--input", str(tmp_path / "none.csv"), "--out", str(tmp_path / "o.csv"),
                 "--model", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "none.csv" in err
