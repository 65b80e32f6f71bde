"""Labels of a watched repository, on a git repository built in a temporary folder: fixes from an issue-tracker export
(``RISKFT_WATCH_ISSUES``), its errors on the sensor and the job, and a change relabelled by a later fix reaching the
training data the retraining route reads (the history replaces its row). No training."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from riskft_pipeline import incoming, watch
from riskft_pipeline.core.risk.features import clean_changes, read_changes_csv
from riskft_pipeline.core.risk.mining import SZZ_RULES, mine, read_mined_csv, write_changes_csv
from riskft_pipeline.core.risk.tracker import read_issue_export
from riskft_pipeline.core.tasks import RISK
from riskft_pipeline.defs import automation
from riskft_pipeline.defs.watch import HEAD_TAG, watch_sensor
from riskft_pipeline_tests.core.risk.gitrepo_factory import CALC_V8, DAY, T0, UTIL_V6, build_sample_repo
from riskft_pipeline_tests.ops.helpers import tick
from riskft_pipeline_tests.ops.test_watch import run_mine

FIX_C6 = {"src/b/util.py": UTIL_V6[:3] + ["    return min(hi, x)"], "src/a/calc.py": CALC_V8 + ["# end"]}


def write_issues(path: Path, *issues: tuple[str, str, float]) -> Path:
    """An issue export (JIRA's column names) of ``(key, type, day reported)``."""
    lines = ["Issue key,Issue Type,Created"]
    lines += [f"{key},{kind},{pd.Timestamp((T0 + day * DAY) * 10**9, tz='UTC').isoformat()}"
              for key, kind, day in issues]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def training_input(request) -> pd.DataFrame:
    """The rows the requested ``risk_chain`` run trains on: its snapshot through the chain's own reader and cleaner."""
    path = request.run_config["ops"][RISK.raw_asset]["config"]["input_path"]
    return clean_changes(read_changes_csv(path), now=2e9).clean


def test_the_issue_export_makes_the_fixes_and_a_new_export_is_mined_again(home, instance, tmp_path, monkeypatch):
    repo = build_sample_repo(tmp_path / "repo")
    c9 = repo.commit("c9", "PROJ-7: upper bound again", FIX_C6, author="bob", day=12)  # rewrites c6's line
    issues = write_issues(tmp_path / "issues.csv", ("PROJ-1", "Bug", 1))  # PROJ-7 not exported yet
    for var, value in ((watch.REPO_ENV, repo.path), (watch.MATURITY_ENV, 0), (watch.ISSUES_ENV, issues)):
        monkeypatch.setenv(var, str(value))
    sensor = watch_sensor(RISK)

    first = tick(sensor, instance)
    [request] = first.run_requests
    assert run_mine(request, instance).success
    state = watch.read_state(repo.path)
    assert state["issues"] == str(issues) and "fixes from the issue export" in watch.MineOutcome(
        **state["outcome"]).message()
    mined = read_mined_csv(state["outcome"]["state_file"])
    assert mined["bug"].sum() == 0, "with an export, 'Fix off-by-one' (c5) cites no bug: no fix, c2 stays clean"
    cli = mine(repo.path, maturity_days=0, tracker=read_issue_export(issues)).changes  # `riskft risk mine --issues`
    assert mined["bug"].tolist() == cli["bug"].tolist() and mined["_id"].tolist() == cli["_id"].tolist()

    # the export grows (PROJ-7, reported on day 11, after c6): the next tick mines again though HEAD did not move,
    # fully, since an old commit (c9) became a fix; c6 is sent again, now bug-inducing
    write_issues(issues, ("PROJ-1", "Bug", 1), ("PROJ-7", "Bug", 11))
    second = tick(sensor, instance, first.cursor)
    [request2] = second.run_requests
    assert request2.tags[HEAD_TAG] == c9 and request2.run_key != request.run_key
    assert run_mine(request2, instance).success
    outcome = watch.read_state(repo.path)["outcome"]
    assert outcome["fallback"] == "the issue export is not the previous mine's" and outcome["relabelled"] == 1
    sent = read_mined_csv(outcome["incoming_file"])
    assert sent["_id"].tolist() == [repo.hashes["c6"]] and sent["bug"].tolist() == [1]
    assert tick(sensor, instance, second.cursor).run_requests == []


@pytest.mark.parametrize("content, says", [
    (None, "issue export not found"),
    ("key,summary\nPROJ-1,x\n", "no issue type column"),
    ("key,type,created\nPROJ-1,Story,2024-01-01\n", "no issue of type bug/defect with a created date"),
])
def test_a_bad_issue_export_is_a_skip_reason_and_a_run_failure(home, instance, tmp_path, monkeypatch, content, says):
    repo = build_sample_repo(tmp_path / "repo")
    monkeypatch.setenv(watch.REPO_ENV, str(repo.path))
    [request] = tick(watch_sensor(RISK), instance).run_requests  # no export yet: fine
    issues = tmp_path / "issues.csv"
    if content is not None:
        issues.write_text(content, encoding="utf-8")
    monkeypatch.setenv(watch.ISSUES_ENV, str(issues))

    skip = tick(watch_sensor(RISK), instance)
    assert not skip.run_requests and skip.skip_message.startswith(f"RISKFT_WATCH_ISSUES={issues}: ")
    assert says in skip.skip_message
    result = run_mine(request, instance)
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert f"RISKFT_WATCH_ISSUES={issues}: " in failure.event_specific_data.error.message
    assert says in failure.event_specific_data.error.message and watch.read_state(repo.path) == {}


def test_a_change_sent_as_clean_is_relabelled_in_the_training_data_by_a_later_fix(home, instance, tmp_path):
    """Batch 1 sends c6 as clean; c9 fixes its line; batch 2 re-sends c6 as bug-inducing, and the snapshot the next
    ``risk_chain`` run reads holds c6 once, labelled 1."""
    repo = build_sample_repo(tmp_path / "repo")
    c6 = repo.hashes["c6"]
    first = watch.mine_into_incoming(repo.path, pattern="changes*.csv", maturity=0.0)
    ingest = tick(automation.incoming_files, instance)
    [retrain] = ingest.run_requests
    before = training_input(retrain)
    assert before.set_index("_id").loc[c6, "bug"] == 0 and first.sent == len(before)

    repo.commit("c9", "Fix upper bound again", FIX_C6, author="bob", day=12)
    second = watch.mine_into_incoming(repo.path, pattern="changes*.csv", maturity=0.0)
    assert (second.new_rows, second.relabelled, second.sent) == (1, 1, 2)
    [retrain2] = tick(automation.incoming_files, instance, ingest.cursor).run_requests
    [entry] = [e for e in incoming.load_registry() if e["file"] == Path(second.incoming_file).name]
    assert (entry["rows_added"], entry["rows_updated"], entry["rows_duplicate"]) == (1, 1, 0)
    after = training_input(retrain2)
    assert (after["_id"] == c6).sum() == 1 and after.set_index("_id").loc[c6, "bug"] == 1
    assert len(after) == len(before) + 1 and after["_id"].is_unique


def test_rows_labelled_under_older_szz_rules_are_mined_again_fully(home, tmp_path):
    """A watched repository mined before SZZ left tests and docs out (rules v1, no ``szz_rules`` in its state): an
    incremental mine would keep v1's labels next to v2's, so the watcher mines it fully and sends what changed."""
    repo = build_sample_repo(tmp_path / "repo")
    first = watch.mine_into_incoming(repo.path, pattern="changes*.csv", maturity=0)
    folder = Path(first.state_file).parent
    state = watch.read_state(repo.path)
    assert state["szz_rules"] == SZZ_RULES and first.fallback == ""
    del state["szz_rules"]  # as a v1 mine wrote it
    (folder / watch.STATE_JSON).write_text(json.dumps(state), encoding="utf-8")
    v1 = read_mined_csv(first.state_file)
    wrongly = v1.index[v1["bug"] == 0][0]
    v1.loc[wrongly, "bug"] = 1  # a label only v1 gave (say, a commit that wrote a test a fix later changed)
    write_changes_csv(v1, first.state_file)

    again = watch.mine_into_incoming(repo.path, pattern="changes*.csv", maturity=0)
    assert again.fallback == f"the SZZ rules changed since the previous mine (v1 -> {SZZ_RULES})"
    assert again.relabelled == 1 and again.sent == 1
    assert read_mined_csv(again.incoming_file)["_id"].tolist() == [v1.loc[wrongly, "_id"]]
    full = mine(repo.path, maturity_days=0).changes
    assert read_mined_csv(again.state_file)["bug"].tolist() == full["bug"].tolist()
    assert watch.mine_into_incoming(repo.path, pattern="changes*.csv", maturity=0).fallback == ""
