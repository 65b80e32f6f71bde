"""Materialise a chain in-process against the persistent instance under ``$DAGSTER_HOME`` (what ``make run`` does),
so the runs, materialisations and check results then show in ``make ui``."""

from __future__ import annotations

import json
import time
from pathlib import Path

from riskft_pipeline.core.report_summary import summary_lines

JOBS = {"tickets": "tickets_chain", "risk": "risk_chain"}
ROOT_ASSET = {"tickets": "raw_tickets", "risk": "raw_changes"}
RECIPE_OPS = {"tickets": ("ticket_adapter",), "risk": ("risk_splits", "risk_adapter")}
"""The assets that read the run's recipe (risk splits are sampled per recipe; ticket splits are not)."""


def run_config(chain: str, input_path: str | None, recipe: str | None) -> dict:
    ops: dict = {}
    if input_path:
        ops[ROOT_ASSET[chain]] = {"config": {"input_path": input_path}}
    if recipe:
        for op in RECIPE_OPS[chain]:
            ops[op] = {"config": {"recipe": recipe}}
    return {"ops": ops} if ops else {}


def materialize_chain(chain: str, *, input_path: str | None = None, recipe: str | None = None) -> bool:
    """Run ``tickets``, ``risk`` or ``all``; prints a per-chain timing line. Returns True when every run succeeded."""
    from dagster import DagsterInstance

    from riskft_pipeline.definitions import defs
    from riskft_pipeline.home import init_home

    init_home()
    chains = ["tickets", "risk"] if chain == "all" else [chain]
    if chain == "all" and (input_path or recipe):
        raise ValueError("--input/--recipe need a single chain (tickets or risk)")
    ok = True
    with DagsterInstance.get() as instance:
        for name in chains:
            job = defs.resolve_job_def(JOBS[name])
            t0 = time.perf_counter()
            result = job.execute_in_process(instance=instance, run_config=run_config(name, input_path, recipe),
                                            raise_on_error=False)
            took = time.perf_counter() - t0
            status = "succeeded" if result.success else "FAILED"
            print(f"[riskft] {name} chain {status} in {took:.0f} s (dagster run {result.run_id})", flush=True)
            if result.success:
                prefix = "ticket" if name == "tickets" else "risk"
                reg = result.output_for_node(f"{prefix}_model_version")
                report = json.loads(Path(result.output_for_node(f"{prefix}_eval_report")["report_path"])
                                    .read_text(encoding="utf-8"))
                for line in summary_lines(report, reg):
                    print(f"[riskft]   {line}", flush=True)
            ok = ok and result.success
    return ok
