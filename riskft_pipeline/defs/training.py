"""The model half of both chains, written once: ``<prefix>_adapter`` → ``<prefix>_eval_report`` →
``<prefix>_model_version`` over a splits asset, plus the blocking gate check on the report."""


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
from riskft_pipeline.defs.common import image, md_table, run_dir, user_errors
from riskft_pipeline.defs.resources import MLflowTracking


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
                splits: dict) -> dg.Output[dict]:
        recipe_path = workflows.resolve_recipe(config.recipe, task)
        with user_errors():
            recipe = load_recipe(recipe_path)
        if recipe.task != task:
            raise dg.Failure(f"recipe {recipe_path} is not a {task} recipe")
        if split_params is not None and splits.get("summary", {}).get("params") != split_params(recipe):
            raise dg.Failure(f"{splits_asset} was built with other parameters than recipe {recipe_path.name} sets "
                             f"({splits.get('summary', {}).get('params')}): give {splits_asset} and {adapter_name} "
                             f"the same recipe in the run config")
        out = run_dir(context, adapter_name)
        result = workflows.train(recipe_path, Path(splits["data_dir"]), out, tracking_uri=mlflow.resolved_uri(),
                                 tags={"riskft.dagster_run_id": context.run.run_id},
                                 input_path=splits.get("input_path"))
        adapter_dir = Path(result["adapter_dir"])
        value = {"adapter_dir": str(adapter_dir), "data_dir": splits["data_dir"], "recipe_path": str(recipe_path),
                 "mlflow_run_id": result["mlflow_run_id"], "splits_data_version": splits.get("data_version")}
        curve = [{"step": s, "loss": round(loss, 4)} for s, loss in result.get("loss_curve", [])]
        return dg.Output(value, data_version=dg.DataVersion(sha256_file(adapter_dir / "adapter_model.safetensors")),
                         metadata={
            "recipe": str(recipe_path.name), "steps": result["steps"],
            "train_runtime_s": result["train_runtime_s"], "tokens_per_s": result.get("tokens_per_s") or 0.0,
            "final_loss": result.get("final_loss") or float("nan"),
            "train_examples": result["n_train_examples"], "dropped_too_long": result["n_dropped_too_long"],
            "loss_curve": md_table(curve[-30:]) if curve else "none",
            "base_model": str(result["base_model"].get("name")), "mlflow_run_id": str(result["mlflow_run_id"]),
            "adapter_dir": dg.MetadataValue.path(str(adapter_dir)),
        })

    gate_spec = dg.AssetCheckSpec(name="gate", asset=report_name, blocking=True,
                                  description="Usable for promotion: a finite primary metric and at least the "
                                              "recipe's minimum valid-JSON rate.")

    @dg.asset(name=report_name, group_name=group, code_version="1", ins={"adapter": dg.AssetIn(adapter_name)},
              check_specs=[gate_spec],
              # re-evaluate when the adapter changes, once the automation sensor is switched on in the UI
              automation_condition=dg.AutomationCondition.eager(),
              description="Evaluation on the test split, side by side with baselines computed in the same run.")
    def eval_report(context: dg.AssetExecutionContext, adapter: dict):
        out = run_dir(context, report_name)
        report = workflows.evaluate(Path(adapter["adapter_dir"]), Path(adapter["data_dir"]), out)
        primary = report["primary_metric"]
        value = {"report_path": str(out / "report.json"), "out_dir": str(out), "primary_metric": primary,
                 "valid_json_rate": report.get("valid_json_rate")}
        shown = f"{primary['value']:.4f}" if isinstance(primary["value"], (int, float)) else "undefined"
        metadata = {"primary_metric": f"{primary['name']} = {shown}",
                    # numbers, so Dagster charts them across runs
                    **{f"{primary['name']}_{m}": dg.MetadataValue.float(v)
                       for m, v in method_scores(report).items() if v is not None},
                    "baselines_lost_to": ", ".join(baselines_beaten(report)[1]) or "none",
                    "n_test": report.get("n_test", 0), "report_dir": dg.MetadataValue.path(str(out))}
        if (out / "report.md").is_file():
            metadata["report"] = dg.MetadataValue.md((out / "report.md").read_text(encoding="utf-8"))
        for png in sorted(out.glob("*.png"))[:4]:
            metadata[f"plot_{png.stem}"] = image(png)
        yield dg.Output(value, data_version=dg.DataVersion(sha256_file(out / "report.json")), metadata=metadata)
        yield gate_check(report, load_recipe(adapter["recipe_path"]).register.min_valid_json_rate)

    @dg.asset(name=version_name, group_name=group, code_version="1",
              ins={"adapter": dg.AssetIn(adapter_name), "report": dg.AssetIn(report_name)},
              description="The adapter registered as a new MLflow model version; `champion` moves only if better "
                          "on the same test split (a champion measured on another split is re-evaluated on this "
                          "one first).")
    def model_version(context: dg.AssetExecutionContext, mlflow: MLflowTracking, adapter: dict,
                      report: dict) -> dg.Output[dict]:
        registration = workflows.register(
            Path(adapter["adapter_dir"]), Path(report["report_path"]), run_id=adapter["mlflow_run_id"],
            dagster_run_id=context.run.run_id, tracking_uri=mlflow.resolved_uri(),
            data_versions={splits_asset: adapter.get("splits_data_version")},
            reevaluation_dir=run_dir(context, version_name) / "champion_reevaluation", progress=False,
        )
        return dg.Output(registration, metadata=registration_metadata(registration, adapter["mlflow_run_id"]))

    return [adapter, eval_report, model_version]


def registration_metadata(registration: dict, mlflow_run_id: str) -> dict:
    """The decision as the asset's metadata: what was compared with what, on which test split, and why."""
    prev = registration.get("previous_champion") or {}
    compared = registration.get("comparison") or {}
    reeval = compared.get("reevaluation") or {}
    champion_value = compared.get("champion_value")
    pm = registration.get("primary_metric") or {}
    return {
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
