"""`riskft risk mine` on a built repository: a full mine, an incremental re-mine that changes nothing, and the
maturity window leaving the newest changes unlabelled."""

from __future__ import annotations

import json

import pandas as pd

from riskft_pipeline.cli import main
from riskft_pipeline_tests.core.risk.gitrepo_factory import build_sample_repo


def test_mine_then_incremental_then_maturity(tmp_path, capsys):
    repo = build_sample_repo(tmp_path / "repo")
    out = tmp_path / "changes.csv"
    assert main(["risk", "mine", "--repo", str(repo.path), "--out", str(out), "--quiet", "--workers", "1"]) == 0
    full = pd.read_csv(out, dtype=str, keep_default_na=False)
    stats = json.loads(capsys.readouterr().out)
    assert stats["rows"] == len(full) == 8  # c1..c8, the merge skipped
    assert main(["risk", "mine", "--repo", str(repo.path), "--out", str(out), "--quiet", "--incremental"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["incremental"]["previous_rows"] == 8
    pd.testing.assert_frame_equal(pd.read_csv(out, dtype=str, keep_default_na=False), full)
    young = tmp_path / "young.csv"
    assert main(["risk", "mine", "--repo", str(repo.path), "--out", str(young), "--quiet", "--maturity-days",
                 "2.5"]) == 0
    labels = pd.read_csv(young, dtype=str, keep_default_na=False)["bug"]
    assert (labels == "").sum() >= 1 and (labels != "").sum() >= 1  # the last days' unblamed changes wait
