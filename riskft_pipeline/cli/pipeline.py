"""``riskft run`` (a whole chain without Dagster) and ``riskft pipeline`` (the chain's Dagster job in-process).

``riskft pipeline`` materialises a chain against the persistent instance under ``$DAGSTER_HOME`` (what ``make run``
does), so the runs, materialisations and check results then show in ``make ui``.

What the terminal shows: one line per stage (asset) with its elapsed time, the ``[progress]`` lines that training
and evaluation write into the run's event log, then per chain the table of the shipped predictor against every
baseline, whether the version became champion and why, and the pages to open (Dagster asset, MLflow run and model
version). Everything else (Dagster's DEBUG events, warnings, progress bars) goes to a log file under
``$RISKFT_HOME/logs/`` whose path is printed first.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from riskft_pipeline.cli.common import CliError, print_json
from riskft_pipeline.core.tasks import TASKS, task_spec

ALL = "all"
PREFIX = "[riskft]"
PROGRESS_MARK = "[progress]"  # defs.common.StepLog.PREFIX (not imported: `riskft --help` must not load Dagster)


def cmd_run(args) -> int:
    from riskft_pipeline import workflows

    result = workflows.run_chain(args.chain, input_path=args.input, recipe_path=args.recipe)
    print_json(result)
    return 0


def cmd_pipeline(args) -> int:
    ok = materialize_chain(args.chain, input_path=args.input, recipe=args.recipe)
    return 0 if ok else 1


def log_path() -> Path:
    from riskft_pipeline import paths

    return paths.riskft_home() / "logs" / f"pipeline-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"


def materialize_chain(chain: str, *, input_path: str | None = None, recipe: str | None = None,
                      log_file: Path | None = None) -> bool:
    """Run one task's chain, or ``all``; the terminal gets the stage lines and the closing summary, the log file the
    rest. Returns True when every run succeeded."""
    from dagster import DagsterInstance

    from riskft_pipeline.definitions import defs
    from riskft_pipeline.defs.chain import run_config
    from riskft_pipeline.home import init_home

    if chain == ALL and (input_path or recipe):
        raise CliError("--input/--recipe need a single chain (" + " or ".join(TASKS) + ")")
    specs = list(TASKS.values()) if chain == ALL else [task_spec(chain)]
    init_home()
    log_file = log_file or log_path()
    ok = True
    with quiet_terminal(log_file) as term:
        say = _printer(term)
        say(f"full log (Dagster events, warnings, progress bars): {log_file}")
        with DagsterInstance.get() as instance:
            for spec in specs:
                job = defs.resolve_job_def(spec.job_name)
                run_id = _new_run_id()
                say(f"{spec.name} chain: dagster run {run_id}")
                t0 = time.perf_counter()
                stages = (spec.raw_asset, spec.clean_asset, spec.splits_asset, spec.adapter_asset,
                          spec.eval_report_asset, spec.model_version_asset)
                with StageWatcher(instance, run_id, say, stages):
                    result = job.execute_in_process(instance=instance, run_id=run_id, raise_on_error=False,
                                                    run_config=run_config(spec.name, input_path, recipe))
                took = time.perf_counter() - t0
                say(f"{spec.name} chain {'succeeded' if result.success else 'FAILED'} in {took:.0f} s")
                if result.success:
                    for line in chain_summary(spec, result.output_for_node(spec.model_version_asset),
                                              result.output_for_node(spec.eval_report_asset).report_path, run_id):
                        say(f"  {line}")
                else:
                    say(f"  see {log_file} for the whole story")
                ok = ok and result.success
    return ok


def chain_summary(spec, registration: dict, report_path: str | Path, dagster_run_id: str) -> list[str]:
    """The closing lines of one chain: the method table, the decision and why (in words when the version loses to
    a baseline), the pages to open."""
    from riskft_pipeline.core.report_summary import baselines_beaten, summary_lines
    from riskft_pipeline.tracking.urls import asset_url, dagster_run_url, model_version_url, run_url

    report = json.loads(Path(report_path).read_text(encoding="utf-8"))
    lines = summary_lines(report)
    version = f"{registration['model_name']} version {registration['version']}"
    lost = baselines_beaten(report)[1]
    if registration["promoted"]:
        lines.append(f"{version} became champion (gate: {registration['reason']})")
        if lost:
            lines.append(f"  note: it became champion although it loses to {', '.join(lost)}: the gate compares "
                         "a version with the current champion, not with the baselines")
    else:
        lines.append(f"{version} did NOT become champion (gate: {registration['reason']})")
    lines.append("open (after `make ui` / `make mlflow-ui`):")
    lines.append(f"  Dagster asset   {asset_url(spec.model_version_asset)}")
    lines.append(f"  Dagster run     {dagster_run_url(dagster_run_id)}")
    tracking_uri = _tracking_uri()
    run_id = registration.get("run_id")
    if run_id:
        from riskft_pipeline.tracking.runs import experiment_id_of

        experiment = experiment_id_of(run_id, tracking_uri=tracking_uri)
        lines.append(f"  MLflow run      {run_url(experiment, run_id, tracking_uri)}")
    page = model_version_url(registration["model_name"], registration["version"], tracking_uri)
    lines.append(f"  MLflow version  {page}")
    return lines


def _tracking_uri() -> str:
    from riskft_pipeline.tracking.client import resolve_tracking_uri

    return resolve_tracking_uri(os.environ.get("RISKFT_TRACKING_URI") or None)


def _new_run_id() -> str:
    import uuid

    return str(uuid.uuid4())


def _printer(term: IO[str]):
    def say(line: str) -> None:
        term.write(f"{PREFIX} {line}\n")
        term.flush()
    return say


@contextlib.contextmanager
def quiet_terminal(log_file: Path) -> Iterator[IO[str]]:
    """Everything written to stdout/stderr in the block (Python and C level: Dagster's console log, warnings, tqdm
    bars, library prints) goes to ``log_file``; the block writes to the terminal through the stream it is given."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    term = os.fdopen(os.dup(saved_out), "w", buffering=1, encoding="utf-8", errors="replace")
    log = open(log_file, "a", buffering=1, encoding="utf-8", errors="replace")  # noqa: SIM115 - closed below
    old_streams = sys.stdout, sys.stderr
    try:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        sys.stdout = sys.stderr = log
        yield term
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        sys.stdout, sys.stderr = old_streams
        os.dup2(saved_out, 1)
        os.dup2(saved_err, 2)
        os.close(saved_out)
        os.close(saved_err)
        term.close()
        log.close()


class StageWatcher:
    """Follows a run's event log while it executes (a thread polling the instance): one line when a stage starts
    work and when it ends, with its elapsed time, plus the ``[progress]`` lines the assets log."""

    def __init__(self, instance, run_id: str, say, stages: tuple[str, ...] = (), every_s: float = 1.0) -> None:
        self.instance, self.run_id, self.say, self.every_s = instance, run_id, say, every_s
        self.stages = set(stages)  # steps shown as stages; other steps (asset checks) show their verdict only
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="riskft-stage-watcher", daemon=True)
        self._cursor = None
        self._started: dict[str, float] = {}

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self._poll()  # whatever arrived after the last tick

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            with contextlib.suppress(Exception):  # the run's own outcome is reported by the caller
                self._poll()

    def _poll(self) -> None:
        while True:
            conn = self.instance.get_records_for_run(self.run_id, cursor=self._cursor, limit=500)
            for record in conn.records:
                line = self.describe(record.event_log_entry)
                if line:
                    self.say(line)
            self._cursor = conn.cursor
            if not conn.has_more:
                return

    def describe(self, entry) -> str | None:
        """The terminal line for one event, or None."""
        from dagster import DagsterEventType

        event = entry.dagster_event
        step = entry.step_key or ""
        if event is None:
            message = entry.user_message or ""
            if message.startswith(PROGRESS_MARK):
                return f"  {step:<24} {message.removeprefix(PROGRESS_MARK).strip()}"
            return None
        kind = event.event_type
        if kind == DagsterEventType.ASSET_CHECK_EVALUATION:
            data = event.event_specific_data
            asset = data.asset_key.to_user_string()
            return f"  {asset:<24} check {data.check_name}: {'passed' if data.passed else 'FAILED'}"
        if step not in self.stages and kind != DagsterEventType.STEP_FAILURE:
            return None
        if kind == DagsterEventType.STEP_START:
            self._started[step] = entry.timestamp
            return f"  {step:<24} started"
        if kind in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
            took = entry.timestamp - self._started.get(step, entry.timestamp)
            if kind == DagsterEventType.STEP_SUCCESS:
                return f"  {step:<24} done in {took:.1f} s"
            error = getattr(event.event_specific_data, "error", None)
            why = (error.message.strip().splitlines() or [""])[0] if error is not None else ""
            return f"  {step:<24} FAILED after {took:.1f} s: {why}"
        return None


def add_parser(sub) -> None:
    s = sub.add_parser("run", help="a whole chain without Dagster: prepare -> train -> evaluate -> register")
    s.add_argument("chain", choices=list(TASKS), help="which chain")
    s.add_argument("--input", help="input CSV (default: the embedded data)")
    s.add_argument("--recipe", help="recipe YAML or a name in configs/ (default: the chain's CPU recipe)")
    s.set_defaults(func=cmd_run)

    s = sub.add_parser("pipeline", help="materialise the Dagster assets of a chain in-process (what `make run` does): "
                                        "a line per stage, the full log in $RISKFT_HOME/logs/")
    s.add_argument("chain", choices=[*TASKS, ALL], nargs="?", default=ALL, help=f"which chain (default: {ALL})")
    s.add_argument("--input", help="input CSV (one chain only; default: the embedded data)")
    s.add_argument("--recipe", help="recipe YAML or a name in configs/ (one chain only)")
    s.set_defaults(func=cmd_pipeline)
