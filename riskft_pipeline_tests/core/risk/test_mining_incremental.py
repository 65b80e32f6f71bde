"""Incremental mining equals a full re-mine; recent changes are unlabelled and never reach training as clean;
bug-fixing commits from an issue-tracker export with the SZZ report-date filter."""

from __future__ import annotations

import pandas as pd
import pytest

from riskft_pipeline.core.risk.features import clean_changes, read_changes_csv
from riskft_pipeline.core.risk.mining import mine, read_mined_csv, write_changes_csv
from riskft_pipeline.core.risk.split import time_split
from riskft_pipeline.core.risk.tracker import read_issue_export
from riskft_pipeline_tests.core.risk.gitrepo_factory import DAY, T0, build_synthetic_repo, init_repo

BODY = [f"setting_{i} = {i}" for i in range(12)]


def _grow(repo, start_day: float) -> None:
    """New commits after the first mine: a feature branch merged back, and a fix rewriting lines of the oldest
    commits (so old rows are relabelled)."""
    repo.git("checkout", "-q", "-b", "topic")
    repo.commit("t1", "Topic work", {"api/topic.py": ["topic = 1"]}, author="carol", day=start_day)
    repo.git("checkout", "-q", "main")
    repo.commit("n1", "Update docs", {"docs/new.md": ["# new"]}, author="alice", day=start_day + 1)
    repo.git("merge", "-q", "--no-ff", "-m", "Merge topic", "topic", when=T0 + int((start_day + 2) * DAY))
    path = repo.path / "core/m0/f0.py"
    lines = path.read_text().splitlines()
    repo.commit("n2", "Fix crash in f0", {"core/m0/f0.py": [ln + "  # checked" for ln in lines]},
                author="bob", day=start_day + 3)


@pytest.mark.parametrize("maturity_days", [None, 10.0])
def test_incremental_mine_equals_a_full_mine(tmp_path, maturity_days):
    repo = build_synthetic_repo(tmp_path / "r", n_commits=60, seed=5)
    first = mine(repo.path, maturity_days=maturity_days)
    csv = tmp_path / "changes.csv"
    write_changes_csv(first.changes, csv)
    _grow(repo, start_day=40)

    previous = read_mined_csv(csv)
    inc = mine(repo.path, maturity_days=maturity_days, previous=previous)
    full = mine(repo.path, maturity_days=maturity_days)
    pd.testing.assert_frame_equal(inc.changes, full.changes)
    info = inc.stats.incremental
    assert info is not None and "fallback" not in info
    assert (info["previous_rows"], info["new_rows"]) == (60, 3)
    assert info["relabelled"] > 0  # the new fix blames old rows
    assert inc.stats.szz_fixes == 1  # only the new fix was blamed again
    if maturity_days is not None:
        assert first.changes["bug"].isna().sum() > 0  # the last days were unlabelled, some are labelled now
        assert full.changes["bug"].isna().sum() < len(full.changes)


def test_incremental_falls_back_to_a_full_mine_when_history_was_rewritten(tmp_path):
    repo = build_synthetic_repo(tmp_path / "r", n_commits=20, seed=6)
    first = mine(repo.path).changes
    repo.git("reset", "-q", "--hard", repo.hashes["s15"])
    repo.commit("z", "Rewritten tail", {"ui/new.py": ["x"]}, author="alice", day=30)
    inc = mine(repo.path, previous=first)
    assert "not in the history" in inc.stats.incremental["fallback"]
    pd.testing.assert_frame_equal(inc.changes, mine(repo.path).changes)


def test_csv_round_trip_keeps_the_mined_frame(tmp_path):
    repo = build_synthetic_repo(tmp_path / "r", n_commits=15, seed=7)
    df = mine(repo.path, maturity_days=2).changes
    df.loc[0, "message"] = "=cmd|' /C calc'!A0"  # escaped on write, unescaped on read
    write_changes_csv(df, tmp_path / "c.csv")
    pd.testing.assert_frame_equal(read_mined_csv(tmp_path / "c.csv"), df)


def test_unlabelled_changes_never_reach_training(tmp_path):
    repo = build_synthetic_repo(tmp_path / "r", n_commits=80, seed=8)
    df = mine(repo.path, maturity_days=5).changes
    newest = df["date"].max()
    recent = df["date"] > newest - 5 * DAY
    assert df.loc[recent & (df["bug"] != 1), "bug"].isna().all()  # recent and not blamed: unknown, not clean
    assert df.loc[~recent, "bug"].notna().all()
    assert (df.loc[recent, "bug"] == 1).any() or df.loc[recent, "bug"].isna().all()
    unlabelled = set(df.loc[df["bug"].isna(), "_id"])
    assert len(unlabelled) >= 5

    write_changes_csv(df, tmp_path / "c.csv")
    result = clean_changes(read_changes_csv(tmp_path / "c.csv"), now=newest + DAY)
    assert result.summary["quarantine_reasons"] == {"unlabelled": len(unlabelled)}
    assert set(result.quarantine["_id"]) == unlabelled
    split = time_split(result.clean)
    for frame in split.frames().values():
        assert not unlabelled & set(frame["_id"])
        assert set(frame["bug"].unique()) <= {0, 1}


def _tracker_repo(tmp_path):
    repo = init_repo(tmp_path / "r")
    repo.commit("a", "Add limits", {"lim.py": BODY}, author="alice", day=0)
    repo.commit("b", "Tune limits", {"lim.py": BODY[:8] + ["setting_8 = 80"] + BODY[9:]}, author="bob", day=3)
    repo.commit("w", "Fix wording", {"lim.py": BODY[:8] + ["setting_8 = 80"] + BODY[9:11] + ["setting_11 = 0"]},
                author="carol", day=4)  # a message-pattern "fix" the tracker does not know: not an SZZ fix
    fixed = ["setting_0 = -1"] + BODY[1:8] + ["setting_8 = 8"] + BODY[9:11] + ["setting_11 = 0"]
    repo.commit("fix", "PROJ-7: clamp settings (see also PROJ-9)", {"lim.py": fixed}, author="bob", day=5)
    issues = tmp_path / "issues.csv"
    created = pd.Timestamp((T0 + 2 * DAY) * 10**9, tz="UTC").isoformat()  # PROJ-7 reported on day 2
    issues.write_text("Issue key,Issue Type,Created\n"
                      f"PROJ-7,Bug,{created}\nPROJ-9,Story,{created}\nPROJ-10,Bug,\n", encoding="utf-8")
    return repo, issues


def test_tracker_fixes_and_the_report_date_filter(tmp_path):
    repo, issues = _tracker_repo(tmp_path)
    tracker = read_issue_export(issues)
    assert tracker.bugs.keys() == {"PROJ-7"} and tracker.other == {"PROJ-9"} and tracker.bad_rows == 1
    assert tracker.bug_keys("proj-7 and PROJ-9, PROJ-7") == ["PROJ-7"]

    result = mine(repo.path, tracker=tracker)
    bug = result.changes.set_index("_id")["bug"]
    h = repo.hashes
    # the fix rewrites a line of a (day 0) and one of b (day 3, after the bug was reported on day 2): b is dropped
    assert bug[h["a"]] == 1 and bug[h["b"]] == 0
    labels = result.stats.labels
    assert labels["candidates_after_report_discarded"] == 1
    assert result.stats.szz_fixes == 1  # "Fix wording" cites no bug: not blamed
    assert labels["inducing_commits"] == 1 and labels["bug_rate_by_year"]["2023"]["bug_inducing"] == 1
    fix = result.changes.set_index("_id")["fix"]
    assert fix[h["fix"]] == 1 and fix[h["w"]] == 1  # the metric still reads the message

    both = mine(repo.path, tracker=tracker, szz_from_messages=True)
    assert both.stats.szz_fixes == 2
    plain = mine(repo.path, incident_id_pattern=r"PROJ-\d+").changes.set_index("_id")["bug"]
    assert plain[h["b"]] == 1  # the same fix found by its key alone, without the report date: b is blamed


def test_issue_export_errors(tmp_path):
    from riskft_pipeline.core.errors import InputError

    bad = tmp_path / "bad.csv"
    bad.write_text("key,summary\nPROJ-1,x\n", encoding="utf-8")
    with pytest.raises(InputError, match="issue type"):
        read_issue_export(bad)
