"""The change-risk data chain as plain functions: CSV → clean rows + quarantine → time split → training-period
context and tiers → chat JSONL splits + summary. The Dagster assets and the CLI call :func:`prepare_risk`.

Each JSONL row is ``{"id", "messages": [system, user, assistant], "label", "effort", "tier"}``: ``label`` is the
outcome (``bug``), ``effort`` = ``la + ld`` (for the effort-aware metrics), ``tier`` the training target. Training
examples may be capped and class-balanced (CPU budget); ``val.jsonl`` and ``test.jsonl`` always hold *every* change
of their period, so the test metrics are computed on the literature's full test set.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskft_pipeline.core.config import Recipe, RiskConfig
from riskft_pipeline.core.csvio import write_quarantine_csv
from riskft_pipeline.core.files import atomic_dir, sha256_file, write_json, write_jsonl
from riskft_pipeline.core.risk.context import HistoryStats, fit_history
from riskft_pipeline.core.risk.features import ID, LABEL, CleanResult, clean_changes, read_changes_csv
from riskft_pipeline.core.risk.justify import justification
from riskft_pipeline.core.risk.prompts import DEFAULT_TEXT, METRICS_ONLY, PromptText, build_messages
from riskft_pipeline.core.risk.split import SPLITS, TimeSplit, assert_no_leakage, time_split
from riskft_pipeline.core.risk.tiers import TierDefinition, fit_tiers

OUTPUT_FILES: tuple[str, ...] = (
    "clean.parquet", "quarantine.csv", "train.jsonl", "val.jsonl", "test.jsonl",
    "history_stats.json", "tier_definition.json", "summary.json",
)


def sample_training(train: pd.DataFrame, *, max_examples: int | None, balance: bool, seed: int) -> pd.DataFrame:
    """The training rows the model sees: all, or a seeded sample (class-balanced when ``balance``: equal numbers of
    bug-inducing and clean changes, so a small sample still teaches both outcomes). Kept in date order."""
    rng = np.random.default_rng(seed)
    if balance:
        pos, neg = np.flatnonzero(train[LABEL] == 1), np.flatnonzero(train[LABEL] == 0)
        per_class = min(len(pos), len(neg))
        if max_examples is not None:
            per_class = min(per_class, max_examples // 2)
        keep = np.concatenate([rng.choice(pos, per_class, replace=False), rng.choice(neg, per_class, replace=False)])
    elif max_examples is not None and max_examples < len(train):
        keep = rng.choice(len(train), max_examples, replace=False)
    else:
        keep = np.arange(len(train))
    return train.iloc[np.sort(keep)].reset_index(drop=True)


def example_rows(frame: pd.DataFrame, stats: HistoryStats, tiers: TierDefinition, *,
                 text: PromptText = DEFAULT_TEXT) -> list[dict[str, Any]]:
    """One chat example per change: the user turn describes it, the assistant turn is its target tier and the
    mechanical justification of that tier."""
    targets = tiers.targets(frame, stats) if len(frame) else []
    rows = []
    for record, tier in zip(frame.to_dict("records"), targets):
        answer = (tier, justification(record, stats, tier))
        rows.append({
            "id": str(record[ID]),
            "messages": build_messages(record, stats, answer, text=text),
            "label": int(record[LABEL]),
            "effort": float(record["la"] + record["ld"]),
            "tier": tier,
        })
    return rows


def build_risk_examples(split_frames: Mapping[str, pd.DataFrame], stats: HistoryStats, tier_def: TierDefinition, *,
                        max_train_examples: int | None = None, balance: bool = True,
                        seed: int = 42, text: PromptText = DEFAULT_TEXT) -> dict[str, list[dict]]:
    """JSONL rows per split; only ``train`` is sampled."""
    out = {}
    for name in SPLITS:
        frame = split_frames[name]
        if name == "train":
            frame = sample_training(frame, max_examples=max_train_examples, balance=balance, seed=seed)
        out[name] = example_rows(frame, stats, tier_def, text=text)
    return out


def fit_context(split: TimeSplit, cfg: RiskConfig, seed: int) -> tuple[HistoryStats, TierDefinition]:
    """Statistics and tiers from the training split only."""
    period = {k: v for k, v in split.boundaries.items() if k.startswith("train")}
    stats = fit_history(split.train, train_period=period)
    return stats, fit_tiers(split.train, stats, quantiles=cfg.tiers_quantiles, seed=seed)


def clean_with_splits(split: TimeSplit) -> pd.DataFrame:
    """The clean rows in date order with a ``split`` column: what the evaluation refits baselines on."""
    return pd.concat([f.assign(split=name) for name, f in split.frames().items()], ignore_index=True)


def split_options(recipe: Recipe) -> dict[str, Any]:
    """What of a risk recipe, besides its ``risk`` section, shapes the splits: the keyword arguments of
    :func:`prepare_risk` and :func:`build_risk_splits`."""
    return {"max_train_examples": recipe.train.max_train_examples, "seed": recipe.train.seed,
            "text": PromptText.of(recipe.risk)}


def split_params(cfg: RiskConfig, *, max_train_examples: int | None, seed: int, text: PromptText) -> dict[str, Any]:
    """The parameters a prepared folder records in ``summary["params"]``: equal params, equal splits."""
    return {"test_fraction": cfg.test_fraction, "val_fraction": cfg.val_fraction,
            "tiers_quantiles": list(cfg.tiers_quantiles), "balance_classes": cfg.balance_classes,
            "max_train_examples": max_train_examples, "seed": seed, "include_text": text != METRICS_ONLY,
            "message_chars": text.message_chars, "diff_chars": text.diff_chars}


def recipe_split_params(recipe: Recipe) -> dict[str, Any]:
    """:func:`split_params` of the splits ``recipe`` builds (to tell whether a prepared folder was made for it)."""
    return split_params(recipe.risk, **split_options(recipe))


def prepare_risk(input_csv: str | Path, out_dir: str | Path, recipe_risk_cfg: RiskConfig | None = None, *,
                 max_train_examples: int | None = None, seed: int = 42, now: float | None = None,
                 text: PromptText = DEFAULT_TEXT) -> dict:
    """The whole chain in one call (``riskft risk prepare``); writes :data:`OUTPUT_FILES` atomically into
    ``out_dir`` and returns the summary. Raises InputError for an unusable file or too few clean rows.

    ``text=METRICS_ONLY`` builds metrics-only prompts even when the CSV has ``message``/``diff_summary`` (to measure
    what the text adds, side by side, on the same split)."""
    result = clean_changes(read_changes_csv(input_csv), now=now)
    return build_risk_splits(result, out_dir, recipe_risk_cfg, input_sha256=sha256_file(input_csv),
                             max_train_examples=max_train_examples, seed=seed, text=text)


def build_risk_splits(result: CleanResult, out_dir: str | Path, recipe_risk_cfg: RiskConfig | None = None, *,
                      input_sha256: str, max_train_examples: int | None = None, seed: int = 42,
                      text: PromptText = DEFAULT_TEXT) -> dict:
    """From validated changes (:func:`clean_changes`' result, or :func:`read_clean_dir` of a folder that holds one):
    time split, training-period context and tiers, chat JSONL; writes :data:`OUTPUT_FILES` atomically into
    ``out_dir`` and returns the summary."""
    cfg = recipe_risk_cfg or RiskConfig()
    split = time_split(result.clean, test_fraction=cfg.test_fraction, val_fraction=cfg.val_fraction)
    assert_no_leakage(split)
    stats, tiers = fit_context(split, cfg, seed)
    examples = build_risk_examples(split.frames(), stats, tiers, max_train_examples=max_train_examples,
                                   balance=cfg.balance_classes, seed=seed, text=text)
    with atomic_dir(out_dir) as tmp:
        clean_with_splits(split).to_parquet(tmp / "clean.parquet", index=False)
        write_quarantine_csv(result.quarantine, tmp / "quarantine.csv")
        split_sha = {}
        for name in SPLITS:
            write_jsonl(tmp / f"{name}.jsonl", examples[name])
            split_sha[name] = sha256_file(tmp / f"{name}.jsonl")
        write_json(tmp / "history_stats.json", stats.to_dict())
        write_json(tmp / "tier_definition.json", tiers.to_dict())
        summary = {
            **result.summary,
            "split": split.describe(),
            "examples": {name: len(rows) for name, rows in examples.items()},
            "train_examples_bug_rate": _rate(examples["train"]),
            "train_target_tiers": {t: sum(r["tier"] == t for r in examples["train"]) for t in ("low", "medium",
                                                                                                "high")},
            "params": split_params(cfg, max_train_examples=max_train_examples, seed=seed, text=text),
            "input_sha256": input_sha256,
            "split_sha256": split_sha,
        }
        write_json(tmp / "summary.json", summary)
    return summary


def read_clean_dir(folder: str | Path) -> CleanResult:
    """The validated changes a cleaning step wrote into ``folder`` (``clean.parquet``, ``quarantine.csv``,
    ``clean_summary.json``), as :func:`clean_changes` returned them."""
    folder = Path(folder)
    return CleanResult(clean=pd.read_parquet(folder / "clean.parquet"),
                       quarantine=pd.read_csv(folder / "quarantine.csv", dtype=str, keep_default_na=False),
                       summary=json.loads((folder / "clean_summary.json").read_text(encoding="utf-8")))


def _rate(rows: list[dict]) -> float | None:
    return round(float(np.mean([r["label"] for r in rows])), 4) if rows else None


def load_context(data_dir: str | Path) -> tuple[HistoryStats, TierDefinition]:
    """The statistics and tier definition a prepared folder was built with (for evaluation and enrichment)."""
    data_dir = Path(data_dir)
    stats = HistoryStats.from_dict(json.loads((data_dir / "history_stats.json").read_text(encoding="utf-8")))
    tiers = TierDefinition.from_dict(json.loads((data_dir / "tier_definition.json").read_text(encoding="utf-8")))
    return stats, tiers
