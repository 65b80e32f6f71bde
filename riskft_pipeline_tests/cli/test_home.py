"""`riskft init-home` creates $RISKFT_HOME with the Dagster instance config and prints where."""

from __future__ import annotations

from riskft_pipeline.cli import main


def test_init_home_creates_the_instance_config(tmp_path, monkeypatch, capsys):
    home = tmp_path / "home"
    monkeypatch.setenv("RISKFT_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    assert main(["init-home"]) == 0
    assert str(home) in capsys.readouterr().out
    assert (home / "dagster" / "dagster.yaml").is_file()
    assert main(["init-home"]) == 0  # idempotent
