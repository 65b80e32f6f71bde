"""``riskft run`` (a whole chain without Dagster) and ``riskft pipeline`` (the chain's Dagster job in-process).

``riskft pipeline`` materialises a chain against the persistent instance under ``$DAGSTER_HOME`` (what ``make run``
does), so the runs, materialisations and check results then show in ``make ui``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from riskft_pipeline.cli.common import CliError, print_json
from riskft_pipeline.core.tasks import TASKS, task_spec

ALL = "all"


def cmd_run(args) -> int:
    from riskft_pipeline import workflows

    result = workflows.run_chain(args.chain, input_path=args.input, recipe_path=args.recipe)
    print_json(result)
    return 0


def cmd_pipeline(args) -> int:
    ok = materialize_chain(args.chain, input_path=args.input, recipe=args.recipe)
    return 0 if ok else 1


def materialize_chain(chain: str, *, input_path: str | None = None, recipe: str | None = None) -> bool:
    """Run one task's chain, or ``all``; prints a per-chain timing line. Returns True when every run succeeded."""
    from dagster import DagsterInstance

    from riskft_pipeline.core.report_summary import summary_lines
    from riskft_pipeline.definitions import defs
    from riskft_pipeline.defs.chain import run_config
    from riskft_pipeline.home import init_home

    if chain == ALL and (input_path or recipe):
        raise CliError("--input/--recipe need a single chain (" + " or ".join(TASKS) + ")")
    specs = list(TASKS.values()) if chain == ALL else [task_spec(chain)]
    init_home()
    ok = True
    with DagsterInstance.get() as instance:
        for spec in specs:
            job = defs.resolve_job_def(spec.job_name)
            t0 = time.perf_counter()
            result = job.execute_in_process(instance=instance, run_config=run_config(spec.name, input_path, recipe),
                                            raise_on_error=False)
            took = time.perf_counter() - t0
            status = "succeeded" if result.success else "FAILED"
            print(f"[riskft] {spec.name} chain {status} in {took:.0f} s (dagster run {result.run_id})", flush=True)
            if result.success:
                reg = result.output_for_node(spec.model_version_asset)
                report = json.loads(Path(result.output_for_node(spec.eval_report_asset)["report_path"])
                                    .read_text(encoding="utf-8"))
                for line in summary_lines(report, reg):
                    print(f"[riskft]   {line}", flush=True)
            ok = ok and result.success
    return ok


def add_parser(sub) -> None:
    s = sub.add_parser("run", help="a whole chain without Dagster: prepare -> train -> evaluate -> register")
    s.add_argument("chain", choices=list(TASKS), help="which chain")
    s.add_argument("--input", help="input CSV (default: the embedded data)")
    s.add_argument("--recipe", help="recipe YAML or a name in configs/ (default: the chain's CPU recipe)")
    s.set_defaults(func=cmd_run)

    s = sub.add_parser("pipeline", help="materialise the Dagster assets of a chain in-process (what `make run` does)")
    s.add_argument("chain", choices=[*TASKS, ALL], nargs="?", default=ALL, help=f"which chain (default: {ALL})")
    s.add_argument("--input", help="input CSV (one chain only; default: the embedded data)")
    s.add_argument("--recipe", help="recipe YAML or a name in configs/ (one chain only)")
    s.set_defaults(func=cmd_pipeline)
