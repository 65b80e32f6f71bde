"""The change-risk chain's data half: raw_changes → change_features → risk_splits (and their checks). The model half
(risk_adapter → risk_eval_report → risk_model_version) is the same factory the ticket chain uses
(:func:`riskft_pipeline.defs.chain.build_chain`)."""


from pathlib import Path

import dagster as dg
import pandas as pd
from pydantic import Field

from riskft_pipeline import workflows
from riskft_pipeline.core.config import load_recipe
from riskft_pipeline.core.files import sha256_file, write_json
from riskft_pipeline.core.tasks import RISK
from riskft_pipeline.defs.common import DataAssets, md_table, run_dir, user_errors
from riskft_pipeline.defs.training import TrainingConfig
from riskft_pipeline.defs.values import CleanTable, RawFile, Splits

GROUP = RISK.name


class RawChangesConfig(dg.Config):
    input_path: str = Field(default="", description="k-feature CSV of changes; empty = the embedded "
                                                         "data/changes.csv")
    repo_path: str = Field(default="", description="a local git repository to mine instead (SZZ labels)")


@dg.asset(group_name=GROUP, code_version="1",
          description="Changes with the 14 Kamei metrics and a bug label: a k-feature CSV, or mined from a git repo.")
def raw_changes(context: dg.AssetExecutionContext, config: RawChangesConfig) -> dg.Output[RawFile]:
    from riskft_pipeline.core.risk.features import read_changes_csv

    with user_errors():
        if config.repo_path:
            from riskft_pipeline.core.risk.mining import mine_repository, write_changes_csv

            path = run_dir(context, "raw_changes") / "changes.csv"
            write_changes_csv(mine_repository(config.repo_path), path)
        else:
            path = Path(config.input_path or workflows.default_input(RISK.name)).resolve()
        df = read_changes_csv(path)
    sha = sha256_file(path)
    # raw rows as read: a non-numeric label is counted here and quarantined by change_features, never a crash
    bug = pd.to_numeric(df["bug"], errors="coerce") if "bug" in df else pd.Series(dtype=float)
    bug_rate = float(bug.mean()) if bug.notna().any() else float("nan")
    return dg.Output(RawFile(path=str(path), sha256=sha), data_version=dg.DataVersion(sha), metadata={
        "path": dg.MetadataValue.path(str(path)), "sha256": sha, "rows": len(df), "bug_rate": bug_rate,
        "unreadable_labels": int(bug.isna().sum()), "encoding": df.attrs.get("encoding", "utf-8"),
        "source": "git mining" if config.repo_path else "csv",
    })


@dg.asset(group_name=GROUP, code_version="1",
          description="Validated changes (ranges, dates, duplicates); bad rows quarantined with a reason.")
def change_features(context: dg.AssetExecutionContext, raw_changes: RawFile) -> dg.Output[CleanTable]:
    from riskft_pipeline.core.csvio import write_quarantine_csv
    from riskft_pipeline.core.risk.features import clean_changes, read_changes_csv

    result = clean_changes(read_changes_csv(raw_changes.path))
    out = run_dir(context, "change_features")
    out.mkdir(parents=True, exist_ok=True)
    result.clean.to_parquet(out / "clean.parquet", index=False)
    write_quarantine_csv(result.quarantine, out / "quarantine.csv")
    write_json(out / "clean_summary.json", result.summary)
    s = result.summary
    return dg.Output(CleanTable(dir=str(out), input_path=raw_changes.path, input_sha256=raw_changes.sha256,
                                summary=s),
                     data_version=dg.DataVersion(sha256_file(out / "clean.parquet")), metadata={
        "raw_rows": s["raw_rows"], "clean_rows": s["clean_rows"], "quarantined_rows": s["quarantined_rows"],
        "quarantine_reasons": md_table(s.get("quarantine_reasons", {}), ("reason", "rows")),
        "folder": dg.MetadataValue.path(str(out)),
    })


@dg.asset(group_name=GROUP, code_version="1",
          description="Time-ordered splits (first 80% train, its latest slice val, last 20% test) as chat JSONL, "
                      "built from change_features' clean table with the run's recipe (its sample size, class "
                      "balance, seed); percentiles and tiers fitted on the training period only.")
def risk_splits(context: dg.AssetExecutionContext, config: TrainingConfig,
                change_features: CleanTable) -> dg.Output[Splits]:
    from riskft_pipeline.core.risk.examples import build_risk_splits, read_clean_dir, split_options

    recipe_path = workflows.resolve_recipe(config.recipe, RISK.name)
    with user_errors():
        recipe = load_recipe(recipe_path)
    if recipe.task != RISK.name:
        raise dg.Failure(f"recipe {recipe_path} is not a risk recipe")
    out = run_dir(context, "risk_splits")
    with user_errors():
        summary = build_risk_splits(read_clean_dir(change_features.dir), out, recipe.risk,
                                    input_sha256=change_features.input_sha256, **split_options(recipe))
    combined = "".join(summary["split_sha256"][k] for k in sorted(summary["split_sha256"]))
    return dg.Output(Splits(data_dir=str(out), input_path=change_features.input_path, summary=summary,
                            recipe_path=str(recipe_path), data_version=combined[:64]),
                     data_version=dg.DataVersion(combined[:64]), metadata={
        "recipe": recipe_path.name,
        "examples": md_table(summary["examples"], ("split", "rows")),
        "split_sha256": md_table(summary["split_sha256"], ("split", "sha256")),
        "folder": dg.MetadataValue.path(str(out)),
    })


@dg.asset_check(asset=change_features, blocking=True, description="raw_rows == clean_rows + quarantined_rows")
def change_features_nothing_lost(change_features: CleanTable) -> dg.AssetCheckResult:
    s = change_features.summary
    return dg.AssetCheckResult(passed=s["raw_rows"] == s["clean_rows"] + s["quarantined_rows"],
                               metadata={k: s[k] for k in ("raw_rows", "clean_rows", "quarantined_rows")})


@dg.asset_check(asset=risk_splits, blocking=True,
                description="Time order holds: every train change is older than every test change; no id in two "
                            "splits; the label-copy column never reaches a prompt.")
def risk_splits_time_order(risk_splits: Splits) -> dg.AssetCheckResult:
    from riskft_pipeline.core.risk.checks import split_problems

    problems = split_problems(Path(risk_splits.data_dir))
    return dg.AssetCheckResult(passed=not problems, metadata={"problems": "\n".join(problems) or "none"})


def _recipe_split_params(recipe):
    from riskft_pipeline.core.risk.examples import recipe_split_params

    return recipe_split_params(recipe)


data = DataAssets(assets=[raw_changes, change_features, risk_splits],
                  checks=[change_features_nothing_lost, risk_splits_time_order], split_params=_recipe_split_params)
