"""A watched git repository feeds the retraining route: per task spec with a ``mined_kind`` (change risk), the
``<task>_watch_repo`` sensor (:func:`watch_sensor`) and the ``<task>_mine_repo`` job (:func:`mine_job`), added to
the chain by :func:`riskft_pipeline.defs.chain.build_chain`. The work is :mod:`riskft_pipeline.watch` (no Dagster).

- **Setting.** ``RISKFT_WATCH_REPO`` names a local repository; unset (the default) the sensor only skips, saying so.
  ``RISKFT_WATCH_MATURITY_DAYS`` (default 30) is the maturity window; ``RISKFT_WATCH_ISSUES`` (unset: message
  patterns) an issue-tracker export whose bugs' keys make the fixes (:mod:`riskft_pipeline.watch`).
- **Sensor** (every 60 s): reads the repository's HEAD (two ``git`` calls, milliseconds); when it differs from the
  HEAD in the cursor (or the setting names another repository, or the issue export's content changed), requests one
  ``<task>_mine_repo`` run (run key: the repository, HEAD and export hash, so the same state is never mined twice)
  and records them in the cursor. A path that is
  not a repository, an empty repository, a bad maturity value, a missing or malformed issue export or any error of
  ``git`` becomes the tick's skip reason; the tick never raises.
- **Mining in a job, not in the tick.** The first mine of a repository is a full one: ~160 commits/s with SZZ on
  scrapy's 11k commits, and more than 30 minutes for ansible's 55k, where blames of large old files dominate
  (``benchmarks/RESULTS.md`` §8). Later mines are incremental (rows, metrics and
  blames for the new commits only) but still replay the whole ``git log`` and read the previous rows, so their cost
  grows with the history, not with the increment: 0.14 s for one new commit on a 600-commit repository here (a
  ~4,000 commits/s replay), so 10-20 s at 50k, plus a blame per new fix. A tick runs inside the daemon under a 60 s
  deadline and holds up the other sensors meanwhile; a run has its own process, logs, ``[progress]`` lines and a
  failure page. So the tick only compares hashes (milliseconds) and the mining is always a run.
- **Job** (``<task>_mine_repo``, one op): mines incrementally and drops the new or relabelled changes into the
  incoming folder as a ``changes-mined-*.csv``; the ``incoming_files`` sensor takes it from there (validation,
  history, where a relabelled change replaces its row, snapshot, one ``<task>_chain`` run): there is no second
  retraining route. The outcome is recorded as an observation
  on the chain's raw asset. A mining failure fails the run with its one-line reason; the sensor's next tick names it,
  and the next commit (or a re-execution from the run page) mines again from the last state that was written.
"""

import functools
import json
from pathlib import Path

import dagster as dg
from pydantic import Field

from riskft_pipeline import watch
from riskft_pipeline.core.csvio import one_line
from riskft_pipeline.core.tasks import TaskSpec, incoming_kind
from riskft_pipeline.defs.common import user_errors

HEAD_TAG = "riskft/watch_head"
REPO_TAG = "riskft/watch_repo"


class MineRepoConfig(dg.Config):
    repo: str = Field(default="", description="repository to mine; empty = $RISKFT_WATCH_REPO")
    head: str = Field(default="", description="the HEAD the sensor saw (informational: the mine reads HEAD as it "
                                              "is when it starts)")


@functools.cache
def mine_job(spec: TaskSpec) -> dg.JobDefinition:
    """``<task>_mine_repo``: mine the watched repository incrementally into the incoming folder."""
    pattern = incoming_kind(spec.mined_kind)[1].pattern

    @dg.op(name=f"{spec.mine_job}_op",
           description=f"Mine the repository incrementally; new or relabelled changes go to <incoming>/{pattern}.")
    def mine_repo(context: dg.OpExecutionContext, config: MineRepoConfig) -> None:
        repo = Path(config.repo) if config.repo else watch.watched_repo()
        if repo is None:
            raise dg.Failure(description=f"no repository to mine: set {watch.REPO_ENV} (or the op's `repo` config)")

        def progress(p) -> None:
            context.log.info(f"[progress] mining: {p.commits:,}/{p.total:,} commits, {p.commits_per_s:,.0f} "
                             f"commits/s, {p.pending_blames} fixes waiting for blame")

        with user_errors():  # not a repository, no commits, a bad maturity value or issue export: one line
            outcome = watch.mine_into_incoming(repo, pattern=pattern, progress=progress)
        context.log.info(outcome.message())
        context.log_event(dg.AssetObservation(asset_key=spec.raw_asset, metadata={
            "source": "watched repository", "repo": outcome.repo, "head": outcome.head, "rows": outcome.rows,
            "new_rows": outcome.new_rows, "matured": outcome.matured, "relabelled": outcome.relabelled,
            "unlabelled": outcome.unlabelled, "sent": outcome.sent,
            "incoming_file": dg.MetadataValue.path(outcome.incoming_file or "-"),
            "state_file": dg.MetadataValue.path(outcome.state_file), "seconds": outcome.seconds,
            "commits_per_s": outcome.commits_per_s, "fallback": outcome.fallback or "none",
            "fixes_from": outcome.issues or "message patterns"}))

    @dg.job(name=spec.mine_job, tags={"riskft/trigger": "watch"},
            description=f"Mine ${watch.REPO_ENV} incrementally into the incoming folder; the incoming_files sensor "
                        f"then retrains {spec.job_name} on the grown history.")
    def job():
        mine_repo()

    return job


def _cursor(raw: str | None) -> dict:
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _last_failure(instance: dg.DagsterInstance, spec: TaskSpec, head: str) -> str:
    """A word on the last mining run of ``head`` when it failed (the skip reason says so), else ""."""
    runs = instance.get_runs(dg.RunsFilter(job_name=spec.mine_job, tags={HEAD_TAG: head}), limit=1)
    if runs and runs[0].status == dg.DagsterRunStatus.FAILURE:
        return (f"; its mining run {runs[0].run_id} FAILED (see the run's page; re-execute it, or the next commit "
                "mines again)")
    return ""


@functools.cache
def watch_sensor(spec: TaskSpec) -> dg.SensorDefinition:
    @dg.sensor(name=spec.watch_sensor, job=mine_job(spec), minimum_interval_seconds=60,
               default_status=dg.DefaultSensorStatus.RUNNING,
               description=f"When ${watch.REPO_ENV} names a git repository (unset: off), a new HEAD requests "
                           f"{spec.mine_job}: new commits are mined into the incoming folder and retrain "
                           f"{spec.job_name} through incoming_files.")
    def sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        repo = watch.watched_repo()
        if repo is None:
            return dg.SkipReason(f"no repository watched: set {watch.REPO_ENV} to a local git repository")
        try:  # bad settings are reported now, not as failed runs (the export is read again only when it changed)
            watch.maturity_days()
            issues = watch.issue_export()
        except Exception as exc:  # noqa: BLE001 - InputError, or whatever reading the export raised
            context.log.warning(one_line(exc))
            return dg.SkipReason(one_line(exc))
        try:
            head = watch.head_of(repo)
        except Exception as exc:  # noqa: BLE001 - whatever git says, the tick reports it and the daemon goes on
            context.log.warning(f"{watch.REPO_ENV}={repo}: {one_line(exc)}")
            return dg.SkipReason(f"{watch.REPO_ENV}={repo}: {one_line(exc)}")
        if head is None:
            return dg.SkipReason(f"{repo} has no commits yet")
        seen = _cursor(context.cursor)
        key, labels = watch.repo_key(repo), issues.sha256[:16] if issues else ""
        if seen.get("repo") == key and seen.get("head") == head and seen.get("issues", "") == labels:
            return dg.SkipReason(f"{repo}: HEAD {head[:12]} unchanged since the last tick"
                                 + _last_failure(context.instance, spec, head))
        request = dg.RunRequest(
            job_name=spec.mine_job, run_key=f"{key}-{head}" + (f"-{labels}" if labels else ""),
            run_config={"ops": {f"{spec.mine_job}_op": {"config": {"repo": str(repo), "head": head}}}},
            tags={"riskft/trigger": "watch", REPO_TAG: str(repo)[:200], HEAD_TAG: head},
        )
        return dg.SensorResult(run_requests=[request],
                               cursor=json.dumps({"repo": key, "head": head, "issues": labels}))

    return sensor
