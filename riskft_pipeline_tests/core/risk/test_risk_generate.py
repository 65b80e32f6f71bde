"""The embedded default history: seeded, in the k-feature format, realistic, and reproducible byte for byte."""

from __future__ import annotations

import numpy as np

from riskft_pipeline.core.risk.features import FEATURES, clean_changes, read_changes_csv
from riskft_pipeline.core.risk.generate import generate_changes, main
from riskft_pipeline.paths import embedded_data_dir


def test_same_seed_same_history_other_seed_other_history():
    a, b, c = generate_changes(200, seed=1), generate_changes(200, seed=1), generate_changes(200, seed=2)
    assert a.equals(b) and not a.equals(c)


def test_history_is_plausible(history):
    df = generate_changes(1500, seed=4)
    assert list(df.columns) == ["_id", "date", "bug", *FEATURES, "message", "diff_summary"]
    assert df["date"].is_monotonic_increasing and df["_id"].is_unique
    assert 0.15 <= df["bug"].mean() <= 0.25
    assert (df["nf"] >= df["nd"]).all() and (df["nd"] >= df["ns"]).all() and (df["ns"] >= 1).all()
    assert (df["entrophy"] <= np.log2(df["nf"]) + 1e-9).all()
    assert df["la"].median() < df["la"].mean()  # heavy tail, as in real histories
    assert df["exp"].iloc[-100:].mean() > df["exp"].iloc[:100].mean()  # experience accumulates
    # the text carries signal the metrics do not: reverts and hotfixes are riskier, docs changes safer
    msg = df["message"].str.lower()
    assert df["bug"][msg.str.contains("revert|hotfix")].mean() > df["bug"].mean() > df["bug"][
        msg.str.contains("docs|typo|document")].mean()


def test_cli_writes_the_embedded_default_exactly(tmp_path, capsys):
    out = tmp_path / "changes.csv"
    assert main(["--rows", "3000", "--seed", "7", "--out", str(out)]) == 0
    assert "3000 changes" in capsys.readouterr().out
    shipped = embedded_data_dir() / "changes.csv"
    assert out.read_bytes() == shipped.read_bytes()
    assert shipped.stat().st_size < 1_000_000
    result = clean_changes(read_changes_csv(shipped))
    assert result.summary["quarantined_rows"] == 0 and result.summary["text_columns"] == ["message", "diff_summary"]
