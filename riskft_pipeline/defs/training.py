"""The model half of both chains, written once: ``<prefix>_adapter`` → ``<prefix>_eval_report`` →
``<prefix>_model_version`` over a splits asset, plus the blocking gate check on the report.

What the asset pages show: the loss curve as an image, numeric metrics per method (charted across runs), the report
with its plots inline, a sample of predictions as a table, clickable links to the MLflow run and model version, and
in words when the shipped predictor loses to a baseline. Training and evaluation log their progress into the run's
event log (``[progress]`` lines, which ``make run`` prints too) through plain callbacks the assets pass in.
"""


import json
import math
from collections.abc import Callable
from pathlib import Path

import dagster as dg
from pydantic import Field

from riskft_pipeline import workflows
from riskft_pipeline.core.config import Recipe, load_recipe
from riskft_pipeline.core.files import sha256_file
from riskft_pipeline.core.report_summary import baselines_beaten, method_scores
from riskft_pipeline.core.tasks import TaskSpec
from riskft_pipeline.defs.common import (
    StepLog,
    image,
    loss_curve_png,
    markdown_with_images,
    predictions_sample,
    run_dir,
    table,
    user_errors,
)
from riskft_pipeline.defs.resources import MLflowTracking
from riskft_pipeline.defs.values import Adapter, EvalReport, Splits
from riskft_pipeline.tracking.runs import log_file
from riskft_pipeline.tracking.urls import model_version_url, run_url


class TrainingConfig(dg.Config):
    recipe: str = Field(default="", description="recipe YAML (path or file name in configs/); empty = the "
                                                     "task's CPU default")


def model_assets(spec: TaskSpec, split_params: Callable[[Recipe], dict] | None = None) -> list:
    """``<prefix>_adapter``, ``<prefix>_eval_report`` (with its ``gate`` check) and ``<prefix>_model_version`` of
    ``spec``'s chain. ``split_params``: when the splits depend on the recipe, the ``summary["params"]`` that the
    adapter's recipe would have built them with; the adapter refuses splits built with other params (set the same
    recipe on both)."""
    task, splits_asset, group = spec.name, spec.splits_asset, spec.name
    adapter_name, report_name, version_name = spec.adapter_asset, spec.eval_report_asset, spec.model_version_asset

    @dg.asset(name=adapter_name, group_name=group, code_version="1", ins={"splits": dg.AssetIn(splits_asset)},
              description=f"LoRA adapter trained on {splits_asset} per the recipe; one MLflow run per training.")
    def adapter(context: dg.AssetExecutionContext, config: TrainingConfig, mlflow: MLflowTracking,
                splits: Splits) -> dg.Output[Adapter]:
        recipe_path = workflows.resolve_recipe(config.recipe, task)
        with user_errors():
            recipe = load_recipe(recipe_path)
        if recipe.task != task:
            raise dg.Failure(f"recipe {recipe_path} is not a {task} recipe")
        if split_params is not None and splits.summary.get("params") != split_params(recipe):
            raise dg.Failure(f"{splits_asset} was built with other parameters than recipe {recipe_path.name} sets "
                             f"({splits.summary.get('params')}): give {splits_asset} and {adapter_name} "
                             f"the same recipe in the run config")
        out = run_dir(context, adapter_name)
        uri = mlflow.resolved_uri()
        progress = StepLog(context.log.info, "training")
        progress.line(f"recipe {recipe_path.name}, base {recipe.base_model.name}")
        result = workflows.train(recipe_path, Path(splits.data_dir), out, tracking_uri=uri,
                                 tags={"riskft.dagster_run_id": context.run.run_id},
                                 input_path=splits.input_path, progress=False,
                                 on_step=progress.step, log_callbacks=[progress.logs])
        adapter_dir = Path(result["adapter_dir"])
        value = Adapter(adapter_dir=str(adapter_dir), data_dir=splits.data_dir, recipe_path=str(recipe_path),
                        mlflow_run_id=result["mlflow_run_id"], splits_data_version=splits.data_version)
        metadata = {
            "recipe": str(recipe_path.name), "steps": result["steps"],
            "train_runtime_s": result["train_runtime_s"], "tokens_per_s": result.get("tokens_per_s") or 0.0,
            "final_loss": result.get("final_loss") or float("nan"),
            "train_examples": result["n_train_examples"], "dropped_too_long": result["n_dropped_too_long"],
            "base_model": str(result["base_model"].get("name")),
            "adapter_dir": dg.MetadataValue.path(str(adapter_dir)),
        }
        png = loss_curve_png(result.get("loss_curve") or [], out / "loss_curve.png",
                             title=f"{adapter_name}: training loss")
        if png is not None:
            metadata["loss_curve"] = image(png)
            if result["mlflow_run_id"]:
                log_file(result["mlflow_run_id"], png, "training", tracking_uri=uri)
        metadata.update(run_links(result["mlflow_run_id"], uri))
        return dg.Output(value, data_version=dg.DataVersion(sha256_file(adapter_dir / "adapter_model.safetensors")),
                         metadata=metadata)

    gate_spec = dg.AssetCheckSpec(name="gate", asset=report_name, blocking=True,
                                  description="Usable for promotion: a finite primary metric and at least the "
                                              "recipe's minimum valid-JSON rate.")

    @dg.asset(name=report_name, group_name=group, code_version="1", ins={"adapter": dg.AssetIn(adapter_name)},
              check_specs=[gate_spec],
              # re-evaluate when the adapter changes, once the automation sensor is switched on in the UI
              automation_condition=dg.AutomationCondition.eager(),
              description="Evaluation on the test split, side by side with baselines computed in the same run.")
    def eval_report(context: dg.AssetExecutionContext, mlflow: MLflowTracking, adapter: Adapter):
        out = run_dir(context, report_name)
        progress = StepLog(context.log.info, "evaluation")
        progress.line("scoring the test split with the adapter and the baselines")
        report = workflows.evaluate(Path(adapter.adapter_dir), Path(adapter.data_dir), out,
                                    progress=progress.examples)
        primary = report["primary_metric"]
        value = EvalReport(report_path=str(out / "report.json"), out_dir=str(out), primary_metric=primary,
                           valid_json_rate=report.get("valid_json_rate"))
        yield dg.Output(value, data_version=dg.DataVersion(sha256_file(out / "report.json")),
                        metadata={**report_metadata(report, out),
                                  **run_links(adapter.mlflow_run_id, mlflow.resolved_uri())})
        yield gate_check(report, load_recipe(adapter.recipe_path).register.min_valid_json_rate)

    @dg.asset(name=version_name, group_name=group, code_version="1",
              ins={"adapter": dg.AssetIn(adapter_name), "report": dg.AssetIn(report_name)},
              description="The adapter registered as a new MLflow model version; `champion` moves only if better "
                          "on the same test split (a champion measured on another split is re-evaluated on this "
                          "one first). A version that loses to a baseline can still become champion (the gate "
                          "compares with the champion); the metadata and the version's description say so.")
    def model_version(context: dg.AssetExecutionContext, mlflow: MLflowTracking, adapter: Adapter,
                      report: EvalReport) -> dg.Output[dict]:
        uri = mlflow.resolved_uri()
        progress = StepLog(context.log.info, "registration")
        progress.line("registering the adapter, then the champion gate")
        registration = workflows.register(
            Path(adapter.adapter_dir), Path(report.report_path), run_id=adapter.mlflow_run_id,
            dagster_run_id=context.run.run_id, tracking_uri=uri,
            data_versions={splits_asset: adapter.splits_data_version},
            reevaluation_dir=run_dir(context, version_name) / "champion_reevaluation",
            progress=progress.examples,  # when the champion is re-evaluated on this test split
        )
        full_report = json.loads(Path(report.report_path).read_text(encoding="utf-8"))
        return dg.Output(registration, metadata={
            **registration_metadata(registration, adapter.mlflow_run_id, full_report),
            **run_links(adapter.mlflow_run_id, uri),
            "mlflow_model_version": dg.MetadataValue.url(
                model_version_url(registration["model_name"], registration["version"], uri)),
        })

    return [adapter, eval_report, model_version]


def run_links(mlflow_run_id: str | None, tracking_uri: str) -> dict:
    """The MLflow run as a clickable link (and its id as text)."""
    if not mlflow_run_id:
        return {"mlflow_run_id": "none (not tracked)"}
    from riskft_pipeline.tracking.runs import experiment_id_of

    experiment = experiment_id_of(mlflow_run_id, tracking_uri=tracking_uri)
    return {"mlflow_run": dg.MetadataValue.url(run_url(experiment, mlflow_run_id, tracking_uri)),
            "mlflow_run_id": str(mlflow_run_id)}


def report_metadata(report: dict, out: Path) -> dict:
    """The report as the asset shows it: numeric primary metric per method (charted across runs), in words which
    baselines the shipped predictor loses to, the report with its images inline, each plot, a sample of
    predictions as a table."""
    primary = report["primary_metric"]
    shown = f"{primary['value']:.4f}" if isinstance(primary["value"], (int, float)) else "undefined"
    lost = baselines_beaten(report)[1]
    metadata = {"primary_metric": f"{primary['name']} = {shown}",
                # numbers, so Dagster charts them across runs
                **{f"{primary['name']}_{m}": dg.MetadataValue.float(v)
                   for m, v in method_scores(report).items() if v is not None},
                "baselines_lost_to": ", ".join(lost) or "none",
                "verdict": baseline_verdict(report),
                "n_test": report.get("n_test", 0), "report_dir": dg.MetadataValue.path(str(out))}
    if (out / "report.md").is_file():
        metadata["report"] = dg.MetadataValue.md(markdown_with_images((out / "report.md").read_text(
            encoding="utf-8"), out))
    for png in sorted(out.glob("*.png"))[:4]:
        metadata[f"plot_{png.stem}"] = image(png)
    if (out / "predictions.jsonl").is_file():
        metadata["predictions_sample"] = table(predictions_sample(out / "predictions.jsonl"))
    return metadata


def baseline_verdict(report: dict) -> str:
    """One sentence: does the shipped predictor beat every baseline of the same evaluation on the primary metric?"""
    scores = method_scores(report)
    name = (report.get("primary_metric") or {}).get("name", "the primary metric")
    shipped = report.get("shipped", "model")
    beaten, lost = baselines_beaten(report)
    if lost:
        worse = ", ".join(f"{m} ({scores[m]:.4f})" for m in lost)
        mine = scores.get(shipped)
        return (f"LOSES to baseline {worse} on {name}: the shipped predictor ({shipped}) scores "
                f"{'undefined' if mine is None else f'{mine:.4f}'}")
    if beaten:
        return f"beats or ties every baseline on {name} ({', '.join(beaten)})"
    return f"no baseline to compare with on {name}"


def registration_metadata(registration: dict, mlflow_run_id: str, report: dict | None = None) -> dict:
    """The decision as the asset's metadata: what was compared with what, on which test split, and why (and, in
    words, when the version loses to a baseline of its own evaluation)."""
    prev = registration.get("previous_champion") or {}
    compared = registration.get("comparison") or {}
    reeval = compared.get("reevaluation") or {}
    champion_value = compared.get("champion_value")
    pm = registration.get("primary_metric") or {}
    metadata = {
        "model": registration["model_name"], "version": str(registration["version"]),
        "promoted": bool(registration["promoted"]),
        "decision": "promoted" if registration["promoted"] else "not promoted",
        "reason": registration["reason"],
        "primary_metric": f"{pm.get('name')} = {pm.get('value')}",
        "previous_champion": str(prev.get("version", "none")),
        "champion_reevaluated": bool(compared.get("champion_reevaluated", False)),
        "champion_metric_compared": float(champion_value) if champion_value is not None else float("nan"),
        "compared_on_test_sha256": str(compared.get("compared_on_test_sha256") or "none"),
        "champion_reevaluation_error": str(reeval.get("error") or "none"),
        "model_uri": registration["model_uri"], "mlflow_run_id": str(mlflow_run_id),
    }
    if report is not None:
        metadata["baselines"] = baseline_verdict(report)
        if baselines_beaten(report)[1] and registration["promoted"]:
            metadata["decision"] = ("promoted: it beats the previous champion, although it LOSES to a baseline "
                                    "(the gate compares with the champion only)")
    return metadata


def gate_check(report: dict, min_valid_json_rate: float) -> dg.AssetCheckResult:
    """The report's gate: a finite primary metric, and valid JSON often enough (tickets)."""
    value = report["primary_metric"]["value"]
    ok_metric = isinstance(value, (int, float)) and math.isfinite(value)
    rate = report.get("valid_json_rate")
    ok_json = rate is None or rate >= min_valid_json_rate
    return dg.AssetCheckResult(check_name="gate", passed=bool(ok_metric and ok_json), metadata={
        "primary_metric": float(value) if ok_metric else float("nan"),
        "valid_json_rate": float(rate) if rate is not None else float("nan"),
        "min_valid_json_rate": float(min_valid_json_rate),
    })
