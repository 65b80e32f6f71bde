"""End to end: wall time of every stage of ``make run`` (both chains, materialised in-process through Dagster on the
embedded defaults) against the 15-minute budget for the 2-core machine.

Each chain runs as ``riskft pipeline all`` runs it (``defs.runner``: the chain's job, in-process, on a SQLite
instance), in a temporary ``RISKFT_HOME`` so the user's registry is left alone (the converted base model is shared
with the user's home, so conversion, a first-run-only cost, is reported on its own line). Stage times come from the
run's event log (step start to step success); what is left of the chain's wall time is Dagster's own work.

Full mode uses the pipeline's default recipes (``configs/tickets_cpu.yaml``, ``configs/risk_cpu.yaml``): that is
the real ``make run`` and takes long. ``--quick`` uses the tiny test recipes, ``--smoke`` an even smaller cut of them
on the first rows of the embedded files; their figures show the fixed costs, not the budget.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import benchlib
from benchlib import Ratio, Timer, say

NAME = "end_to_end"
BUDGET_S = 15 * 60
CHAINS = ("tickets", "risk")
STAGES = ("prepare", "train", "evaluate", "register")
SMOKE_CUT = {"train": {"max_steps": 1, "max_train_examples": 2, "per_device_batch_size": 2, "save_steps": 10},
             "eval": {"max_test_examples": 2, "max_new_tokens": 8, "zero_shot_baseline": False},
             "risk": {"justification": False}}
SMOKE_ROWS = {"tickets": 150, "risk": 1000}


def recipes(mode: str, tmp: Path) -> dict[str, str | None]:
    """The recipe each chain's adapter asset gets: None (the default CPU recipe), a tiny one, or a cut of it."""
    from riskft_pipeline import paths

    if mode == "full":
        return {chain: None for chain in CHAINS}
    tiny = {chain: paths.configs_dir() / f"{chain}_tiny.yaml" for chain in CHAINS}
    if mode == "quick":
        return {chain: str(p) for chain, p in tiny.items()}
    return {chain: str(smoke_recipe(p, tmp / f"{chain}_smoke.yaml")) for chain, p in tiny.items()}


def inputs(mode: str, tmp: Path) -> dict[str, str | None]:
    """None (the embedded defaults), or for ``--smoke`` small cuts of them, so the smoke run stays short (the
    evaluation's TF-IDF baselines train on the whole train split, whatever the recipe)."""
    if mode != "smoke":
        return {chain: None for chain in CHAINS}
    from bench_prep import head_csv

    from riskft_pipeline import paths

    data = paths.embedded_data_dir()
    return {"tickets": str(head_csv(data / "tickets.csv", SMOKE_ROWS["tickets"], tmp / "tickets_smoke.csv")),
            "risk": str(head_csv(data / "changes.csv", SMOKE_ROWS["risk"], tmp / "changes_smoke.csv"))}


def smoke_recipe(src: Path, dst: Path) -> Path:
    import yaml

    data = yaml.safe_load(src.read_text(encoding="utf-8"))
    for section, values in SMOKE_CUT.items():
        if section in data:
            data[section].update(values)
    data["name"] = data["name"] + "-smoke"
    dst.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return dst


def stage_of(step_key: str) -> str:
    for marker, stage in (("adapter", "train"), ("eval_report", "evaluate"), ("model_version", "register")):
        if marker in step_key:
            return stage
    return "prepare"  # raw_*, clean_*, change_features, *_splits and their checks


def stage_seconds(instance, run_id: str) -> dict[str, float]:
    """Seconds per stage from the run's event log (STEP_START → STEP_SUCCESS/FAILURE of every step)."""
    starts: dict[str, float] = {}
    out = dict.fromkeys(STAGES, 0.0)
    for entry in instance.all_logs(run_id):
        kind = entry.dagster_event.event_type_value if entry.dagster_event else None
        if kind == "STEP_START":
            starts[entry.step_key] = entry.timestamp
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE") and entry.step_key in starts:
            out[stage_of(entry.step_key)] += entry.timestamp - starts.pop(entry.step_key)
    return out


def shared_model_cache(real_models: Path, home: Path) -> float:
    """Point the temporary home's model cache at the user's, converting the offline base there if needed;
    returns the conversion seconds (0 when it was cached)."""
    from riskft_pipeline.core.config import BaseModelConfig
    from riskft_pipeline.training.base_model import resolve_base

    real_models.mkdir(parents=True, exist_ok=True)
    (home / "models").symlink_to(real_models, target_is_directory=True)
    with Timer() as t:
        resolve_base(BaseModelConfig())
    return t.s


def report_quality(home: Path) -> dict:
    """What the run's evaluation reports say (the time bought must be weighed against what it buys)."""
    import json

    out: dict = {}
    for path in sorted(home.rglob("report.json")):
        report = json.loads(path.read_text(encoding="utf-8"))
        if "methods" in report:  # change risk
            out["risk"] = {m: report["methods"][m].get("auc") for m in report["methods"]}
            out["risk"]["tier_bug_rates"] = report.get("tier_bug_rates")
        elif "mean_field_accuracy" in report:
            out["tickets"] = {**report["mean_field_accuracy"], "valid_json_rate": report.get("valid_json_rate")}
    return out


def quality_lines(quality: dict) -> list[str]:
    lines = []
    if "tickets" in quality:
        q = quality["tickets"]
        lines.append("tickets mean field accuracy: " + ", ".join(
            f"{k} {v:.3f}" for k, v in q.items() if isinstance(v, float) and k != "valid_json_rate")
            + f"; valid JSON {q.get('valid_json_rate')}")
    if "risk" in quality:
        q = quality["risk"]
        lines.append("risk test AUC: " + ", ".join(f"{k} {v:.3f}" for k, v in q.items() if isinstance(v, float))
                     + f"; bug rate per tier {q.get('tier_bug_rates')}")
    return lines


def run_chain(instance, chain: str, recipe: str | None, input_path: str | None) -> dict:
    from riskft_pipeline.definitions import defs
    from riskft_pipeline.defs.chain import JOBS, run_config

    job = defs.resolve_job_def(JOBS[chain])
    with Timer() as t:
        result = job.execute_in_process(instance=instance, run_config=run_config(chain, input_path, recipe),
                                        raise_on_error=False)
    stages = stage_seconds(instance, result.run_id)
    return {"success": result.success, "wall_s": t.s, "stages_s": stages,
            "dagster_s": max(t.s - sum(stages.values()), 0.0), "run_id": result.run_id}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    benchlib.add_mode_flags(parser)
    benchlib.add_threads_flag(parser)
    args = parser.parse_args(argv)
    mode = benchlib.mode_of(args)
    ctx = benchlib.context()
    from riskft_pipeline import paths

    real_models = paths.model_cache_dir()
    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as tmp_name:
        tmp = Path(tmp_name)
        home = tmp / "home"
        home.mkdir()
        os.environ.update(RISKFT_HOME=str(home), DAGSTER_HOME=str(home / "dagster"))
        for var in ("MLFLOW_TRACKING_URI", "RISKFT_TRACKING_URI"):
            os.environ.pop(var, None)
        threads = benchlib.apply_threads(args)
        conversion_s = shared_model_cache(real_models, home)
        from dagster import DagsterInstance

        from riskft_pipeline.home import init_home

        init_home()
        chosen, data = recipes(mode, tmp), inputs(mode, tmp)
        results = {}
        t0 = time.perf_counter()
        with DagsterInstance.get() as instance:
            for chain in CHAINS:
                say(f"{chain} chain ({chosen[chain] or 'default CPU recipe'})")
                results[chain] = run_chain(instance, chain, chosen[chain], data[chain])
        total = time.perf_counter() - t0
        quality = report_quality(home)

    rows = []
    for chain, r in results.items():
        rows += [[chain, stage, r["stages_s"][stage]] for stage in STAGES]
        rows += [[chain, "dagster (run, events, checks' bookkeeping)", r["dagster_s"]],
                 [chain, "chain total" + ("" if r["success"] else " (FAILED)"), r["wall_s"]]]
    rows.append(["both", "total", total])
    recipe_note = {"full": "default CPU recipes", "quick": "tiny test recipes",
                   "smoke": "a cut of the tiny recipes and of the data"}[mode]
    print(f"make run, stage by stage: both chains through Dagster on the embedded defaults, {recipe_note}, "
          f"{threads} torch thread(s)\n")
    print(benchlib.table(["chain", "stage", "seconds"], rows))
    print(f"\nbase model conversion (first run on a machine only): {conversion_s:.1f} s")
    for line in quality_lines(quality):
        print(line)
    failed = [c for c, r in results.items() if not r["success"]]
    if failed:
        print(f"FAILED chains: {', '.join(failed)} (see the Dagster output above)")
    figures = {"threads": threads, "recipes": chosen, "inputs": data, "results": results, "total_s": total,
               "conversion_s": conversion_s, "quality": quality}
    what = f"of the 15-minute budget ({recipe_note}{'; FAILED: ' + ', '.join(failed) if failed else ''})"
    ratio = Ratio(total / BUDGET_S, what, 1.0, higher_is_better=False, valid=not failed)
    benchlib.finish(NAME, mode, ctx, figures, ratio)
    return 1 if failed else 0


if __name__ == "__main__":
    benchlib.offline_env()
    sys.exit(main())
