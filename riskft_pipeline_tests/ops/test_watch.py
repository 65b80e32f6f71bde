"""A watched repository (``RISKFT_WATCH_REPO``) feeds the retraining route, on a real git repository built in a
temporary folder: the ``risk_watch_repo`` sensor as the daemon calls it, its ``risk_mine_repo`` job run in-process,
and the ``incoming_files`` sensor taking the mined file to a ``risk_chain`` request. No training."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from riskft_pipeline import incoming, paths, watch
from riskft_pipeline.core.risk.mining import read_mined_csv
from riskft_pipeline.core.tasks import RISK
from riskft_pipeline.defs import automation
from riskft_pipeline.defs.watch import HEAD_TAG, mine_job, watch_sensor
from riskft_pipeline_tests.core.risk.gitrepo_factory import CALC_V8, UTIL_V6, build_sample_repo
from riskft_pipeline_tests.ops.helpers import tick

SAMPLE = ("c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8")


def run_mine(request: dg.RunRequest, instance) -> dg.ExecuteInProcessResult:
    return mine_job(RISK).execute_in_process(run_config=request.run_config, instance=instance, tags=request.tags,
                                             raise_on_error=False)


def mined_files() -> list[Path]:
    return sorted(paths.incoming_dir().glob("changes-mined-*.csv"))


def test_no_setting_means_nothing_is_watched(home, instance, monkeypatch):
    monkeypatch.delenv(watch.REPO_ENV, raising=False)
    data = tick(watch_sensor(RISK), instance)
    assert not data.run_requests and "no repository watched: set RISKFT_WATCH_REPO" in data.skip_message


def test_new_commits_are_mined_into_incoming_and_retrain_through_incoming_files(home, instance, tmp_path,
                                                                               monkeypatch):
    repo = build_sample_repo(tmp_path / "repo")
    monkeypatch.setenv(watch.REPO_ENV, str(repo.path))
    monkeypatch.setenv(watch.MATURITY_ENV, "0")
    sensor = watch_sensor(RISK)

    # first tick: HEAD is new, one mining run is requested and the cursor holds HEAD
    first = tick(sensor, instance)
    [request] = first.run_requests
    head = repo.git("rev-parse", "HEAD")
    assert request.job_name == "risk_mine_repo" and request.tags[HEAD_TAG] == head and head in request.run_key
    result = run_mine(request, instance)
    assert result.success
    [sent] = mined_files()
    assert sent.name.endswith(f"-{head[:12]}.csv")
    rows = read_mined_csv(sent)
    assert set(rows["_id"]) == {repo.hashes[c] for c in SAMPLE}, "every non-merge commit, none twice"
    assert rows.set_index("_id").loc[repo.hashes["c2"], "bug"] == 1, "SZZ: c5 fixes what c2 introduced"
    [obs] = [e.event_specific_data.asset_observation for e in result.all_events if e.event_type_value ==
             "ASSET_OBSERVATION"]
    assert obs.asset_key == dg.AssetKey("raw_changes") and obs.metadata["new_rows"].value == 8

    # the existing route takes it from there: validated, appended, one risk_chain run on the snapshot
    ingest = tick(automation.incoming_files, instance)
    [retrain] = ingest.run_requests
    assert retrain.job_name == "risk_chain" and retrain.tags["riskft/incoming_files"] == sent.name
    history = incoming.read_history(incoming.history_dir() / "changes.csv")
    assert set(history["_id"]) == {repo.hashes[c] for c in SAMPLE}

    # no new commit: nothing to do
    again = tick(sensor, instance, first.cursor)
    assert not again.run_requests and f"HEAD {head[:12]} unchanged" in again.skip_message

    # a new commit: a new request, and its change is mined (only it is new; c6 is relabelled by the fix)
    c9 = repo.commit("c9", "Fix upper bound again", {"src/b/util.py": UTIL_V6[:3] + ["    return min(hi, x)"],
                                                    "src/a/calc.py": CALC_V8 + ["# end"]}, author="bob", day=12)
    second = tick(sensor, instance, again.cursor)
    [request2] = second.run_requests
    assert request2.tags[HEAD_TAG] == c9 and request2.run_key != request.run_key
    assert run_mine(request2, instance).success
    newest = next(p for p in mined_files() if p.name.endswith(f"-{c9[:12]}.csv"))
    sent2 = read_mined_csv(newest).set_index("_id")
    assert c9 in sent2.index and repo.hashes["c6"] in sent2.index and sent2.loc[repo.hashes["c6"], "bug"] == 1
    assert repo.hashes["c1"] not in sent2.index, "an unchanged row is not sent again"
    state = watch.read_state(repo.path)
    assert state["head"] == c9 and state["outcome"]["new_rows"] == 1 and state["outcome"]["relabelled"] == 1
    full = read_mined_csv(state["outcome"]["state_file"])
    assert len(full) == 9 and c9 in set(full["_id"])
    retrain2 = tick(automation.incoming_files, instance, ingest.cursor)
    assert [r.job_name for r in retrain2.run_requests] == ["risk_chain"], "the new change retrains the chain"
    assert tick(sensor, instance, second.cursor).run_requests == []


@pytest.mark.parametrize("make", ["missing", "plain folder"])
def test_a_path_that_is_not_a_repository_is_a_clear_skip(home, instance, tmp_path, monkeypatch, make):
    target = tmp_path / "not-a-repo"
    if make == "plain folder":
        target.mkdir()
    monkeypatch.setenv(watch.REPO_ENV, str(target))
    data = tick(watch_sensor(RISK), instance)
    assert not data.run_requests
    assert data.skip_message == f"RISKFT_WATCH_REPO={target}: not a git repository: {target}"


def test_a_failed_mine_is_a_clear_failure_and_the_next_tick_says_so(home, instance, tmp_path, monkeypatch):
    repo = build_sample_repo(tmp_path / "repo")
    monkeypatch.setenv(watch.REPO_ENV, str(repo.path))
    first = tick(watch_sensor(RISK), instance)
    [request] = first.run_requests
    monkeypatch.setenv(watch.MATURITY_ENV, "-1")  # becomes bad after the tick: the run fails
    result = run_mine(request, instance)
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert "RISKFT_WATCH_MATURITY_DAYS='-1'" in failure.event_specific_data.error.message
    assert mined_files() == [] and watch.read_state(repo.path) == {}
    monkeypatch.setenv(watch.MATURITY_ENV, "0")
    later = tick(watch_sensor(RISK), instance, first.cursor)
    assert not later.run_requests and f"its mining run {result.run_id} FAILED" in later.skip_message
    monkeypatch.setenv(watch.MATURITY_ENV, "soon")
    bad = tick(watch_sensor(RISK), instance, first.cursor)
    assert "RISKFT_WATCH_MATURITY_DAYS='soon' is not a number of days" in bad.skip_message


def test_recent_changes_wait_for_the_maturity_window(home, tmp_path, monkeypatch):
    """Changes within the window are not sent (they would be trained on as clean until their fix lands); they are
    sent once a later commit moves the window past them."""
    repo = build_sample_repo(tmp_path / "repo")  # c7 on day 7, c8 on day 9
    first = watch.mine_into_incoming(repo.path, pattern="changes*.csv", maturity=3.0)
    assert (first.rows, first.unlabelled, first.sent) == (8, 2, 6)
    sent = set(pd.read_csv(first.incoming_file, dtype=str)["_id"])
    assert repo.hashes["c7"] not in sent and repo.hashes["c8"] not in sent
    assert incoming.kind_of(Path(first.incoming_file).name) == "changes"

    repo.commit("c9", "Add notes", {"docs/notes.md": ["# notes"]}, author="alice", day=20)
    second = watch.mine_into_incoming(repo.path, pattern="changes*.csv", maturity=3.0)
    assert (second.new_rows, second.matured, second.unlabelled, second.sent) == (1, 2, 1, 2)
    assert set(pd.read_csv(second.incoming_file, dtype=str)["_id"]) == {repo.hashes["c7"], repo.hashes["c8"]}

    third = watch.mine_into_incoming(repo.path, pattern="changes*.csv", maturity=3.0)
    assert third.sent == 0 and third.incoming_file == "" and "nothing to send" in third.message()
