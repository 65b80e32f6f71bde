"""Runs do not trample each other: two processes materialise the ticket data assets at the same moment, on the same
Dagster instance, with different inputs; each run's splits record its own input hash in its own folder."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

import dagster as dg

from riskft_pipeline.core.files import sha256_file
from riskft_pipeline.core.tickets.generate import generate_tickets, write_tickets_csv
from riskft_pipeline.home import TRAINING_TAG, init_home, instance_config


def _run_ticket_data(input_path: str, barrier, results) -> None:
    """Child process: load the code location, wait for the other child, then run the ``ticket_data`` job."""
    from dagster import DagsterInstance

    from riskft_pipeline.definitions import defs

    job = defs.resolve_job_def("ticket_data")
    with DagsterInstance.get() as instance:
        barrier.wait(timeout=120)
        result = job.execute_in_process(instance=instance, raise_on_error=False,
                                        run_config={"ops": {"raw_tickets": {"config": {"input_path": input_path}}}})
        splits = result.output_for_node("ticket_splits").to_dict() if result.success else None
    results.put({"input": input_path, "run_id": result.run_id, "success": result.success, "splits": splits})


def test_two_runs_at_once_each_record_their_own_data(home, tmp_path):
    init_home()  # dagster.yaml in DAGSTER_HOME, as `make run` / `make ui` use it
    with dg.DagsterInstance.get():
        pass  # the storage exists before the runs, as it does once `make ui` or `make run` has been used
    inputs = []
    for seed in (21, 22):
        path = tmp_path / f"tickets_{seed}.csv"
        write_tickets_csv(generate_tickets(50, seed=seed), path)
        inputs.append(str(path))
    assert sha256_file(inputs[0]) != sha256_file(inputs[1])

    ctx = mp.get_context("spawn")  # fork after torch/dagster imports is unsafe
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_run_ticket_data, args=(p, barrier, results)) for p in inputs]
    for p in procs:
        p.start()
    got = _collect(results, procs)
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0

    assert all(r["success"] for r in got), got
    assert got[0]["run_id"] != got[1]["run_id"]
    for r in got:
        splits = r["splits"]
        assert splits["summary"]["input_sha256"] == sha256_file(r["input"]), "each version hashes its own input"
        assert splits["input_path"] == r["input"]
        assert r["run_id"] in splits["data_dir"], "outputs are run-scoped"
    assert got[0]["splits"]["data_version"] != got[1]["splits"]["data_version"]

    with dg.DagsterInstance.get() as instance:
        for r in got:
            assert instance.get_run_by_id(r["run_id"]).status == dg.DagsterRunStatus.SUCCESS
            [mat] = [e for e in instance.get_records_for_run(r["run_id"]).records
                     if e.event_log_entry.dagster_event.is_step_materialization
                     and e.event_log_entry.dagster_event.asset_key == dg.AssetKey("ticket_splits")]
            recorded = mat.event_log_entry.dagster_event.step_materialization_data.materialization.tags
            assert recorded["dagster/data_version"] == r["splits"]["data_version"]
            assert Path(r["splits"]["data_dir"], "train.jsonl").is_file()


def _collect(results, procs, timeout_s: float = 240) -> list[dict]:
    """Each child's result; fails fast when a child died without one."""
    import queue
    import time

    got, deadline = [], time.monotonic() + timeout_s
    while len(got) < len(procs) and time.monotonic() < deadline:
        try:
            got.append(results.get(timeout=2))
        except queue.Empty:
            dead = [p.exitcode for p in procs if p.exitcode not in (None, 0)]
            assert not dead, f"a run process died (exit codes {dead}); see its stderr above"
    assert len(got) == len(procs), "timed out waiting for the runs"
    return got


def test_training_runs_are_limited_to_one_at_a_time(home):
    """The instance config that `make run` / `make ui` write: training-tagged runs queue behind each other."""
    limits = instance_config()["concurrency"]["runs"]["tag_concurrency_limits"]
    assert {"key": TRAINING_TAG, "limit": 1} in limits
    from riskft_pipeline.definitions import defs

    for name in ("tickets_chain", "risk_chain"):
        assert TRAINING_TAG in defs.resolve_job_def(name).tags
    assert TRAINING_TAG not in defs.resolve_job_def("ticket_data").tags
