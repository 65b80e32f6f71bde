"""Evaluate a change-risk adapter on the time split, side by side with the literature's baselines fitted in the same
run on the same rows (LApredict, logistic regression, gradient-boosted trees).

Ranking score without generating text: one forward pass per change over ``prompt + '{"risk": "'`` gives the three
tier probabilities, ``score = P(high) + 0.5·P(medium)``. Scoring runs in fp32 whatever the training dtype (bf16
autocast cost .07 AUC in a trial). The F1 threshold of every method is chosen on the validation split. Justifications
are generated only for a seeded sample of the test split (``recipe.risk.max_justified_examples``) and each is checked
by :func:`~riskft_pipeline.core.risk.faithful.check_faithful`.

Writes ``predictions.jsonl`` (test), ``val_scores.jsonl`` (the validation scores the predictor's choices were made
from), ``roc.png``, ``report.md`` and, last, ``report.json`` into ``out_dir``.
"""

from __future__ import annotations

import gc
import json
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from riskft_pipeline.core import fusion
from riskft_pipeline.core.config import BaseModelConfig, Recipe, RiskConfig, recipe_hash
from riskft_pipeline.core.errors import InputError
from riskft_pipeline.core.files import atomic_write, read_jsonl, sha256_file, write_json, write_jsonl
from riskft_pipeline.core.metrics import roc_auc
from riskft_pipeline.core.model_card import write_card
from riskft_pipeline.core.progress import ProgressFn, as_progress, stage
from riskft_pipeline.core.risk.baselines import (
    BASELINES,
    fit_baselines,
    fit_logreg,
    logreg_scores,
    score_method,
)
from riskft_pipeline.core.risk.context import HistoryStats
from riskft_pipeline.core.risk.examples import load_context
from riskft_pipeline.core.risk.faithful import check_faithful
from riskft_pipeline.core.risk.features import ID
from riskft_pipeline.core.risk.justify import (
    MODEL,
    justification_start,
    read_justification,
    shipped_justification,
)
from riskft_pipeline.core.risk.prompts import ANSWER_PREFIX, TIERS
from riskft_pipeline.core.risk.tiers import score_cuts, tiers_from_scores
from riskft_pipeline.core.risk.zones import fit_zones, percentiles, shift_of_counts, zone_capture, zone_of

SHIPPED = "fused"  # adapter score and the logreg baseline, z-scored and weighted (stacking) on validation
METHODS: tuple[str, ...] = ("model", SHIPPED, *BASELINES)
METRICS: tuple[str, ...] = ("auc", "f1", "recall_at_20_effort", "effort_at_20_recall", "popt", "caught_top5",
                             "caught_top10", "caught_top20")
PUBLISHED_ANCHORS = {
    "metric": "test AUC on the 80/20 time split (ISSTA'21 'Deep Just-In-Time Defect Prediction: How Far Are We?')",
    "lapredict": {"qt": 0.744, "openstack": 0.749},
    "deepjit_cc2vec_best": {"qt": 0.694, "openstack": 0.725},
    "random_forest_14_features": {"qt": 0.739, "openstack": 0.760},
    "simcom_features_plus_code": {"qt": 0.771, "openstack": 0.776},
    "trial_smollm2_135m_1500_examples": {"openstack": 0.762},
}


# --- inputs ----------------------------------------------------------------------------------------------------


def _read(data_dir: Path, name: str) -> list[dict]:
    path = data_dir / f"{name}.jsonl"
    if not path.is_file():
        raise InputError(f"{path} not found (expected the output of `riskft risk prepare`)")
    return read_jsonl(path)


def _cap(rows: list[dict], limit: int | None, seed: int) -> list[dict]:
    """A seeded sample in file (date) order when the recipe caps evaluation (CPU); None = every row."""
    if limit is None or limit >= len(rows):
        return rows
    rng = random.Random(seed)
    keep = set(rng.sample(range(len(rows)), limit))
    # a ranking metric needs both outcomes: swap one row in for any label the sample missed
    for label in sorted({r.get("label") for r in rows}):
        if limit >= 2 and not any(rows[i].get("label") == label for i in keep):
            candidates = [i for i, r in enumerate(rows) if r.get("label") == label]
            majority = [i for i in sorted(keep) if rows[i].get("label") != label]
            keep.discard(rng.choice(majority))
            keep.add(rng.choice(candidates))
    return [rows[i] for i in sorted(keep)]


def _prompts(rows: Sequence[dict]) -> list[list[dict]]:
    """System + user turns (the assistant turn, the training target, is what is being predicted)."""
    return [[m for m in r["messages"] if m["role"] != "assistant"] for r in rows]


def _fp32(base: BaseModelConfig) -> BaseModelConfig:
    return base.model_copy(update={"dtype": "float32", "load_in_4bit": False})


# --- model -----------------------------------------------------------------------------------------------------


def tier_scores(probs: np.ndarray) -> np.ndarray:
    """``P(high) + 0.5·P(medium)``: half the expected tier (low=0, medium=1, high=2)."""
    return probs[:, 2] + 0.5 * probs[:, 1]


def tier_bug_rates(tiers: Sequence[str], labels: Sequence[int]) -> tuple[dict, dict]:
    """Observed bug rate and count per predicted tier (NaN for a tier never predicted)."""
    tiers, labels = np.asarray(tiers), np.asarray(labels, dtype=float)
    rates = {t: float(labels[tiers == t].mean()) if (tiers == t).any() else float("nan") for t in TIERS}
    return rates, {t: int((tiers == t).sum()) for t in TIERS}


def justify_sample(adapter_dir: Path, base: BaseModelConfig, rows: list[dict], tiers: Sequence[str],
                   clean: pd.DataFrame, stats: HistoryStats, recipe: Recipe,
                   progress: Callable[[int, int], None] | None) -> tuple[list[dict], float]:
    """The model writes a justification for each sampled change's *shipped* tier; each is checked against the
    change's metrics, and an unfaithful one is replaced by the rule-based justification of the same tier (what
    enrichment ships). Returns one record per row and the seconds it took. ``progress(done, total)``: rows
    written so far."""
    from riskft_pipeline.training.infer import generate_after, load_for_inference

    if not rows:
        return [], 0.0
    t0 = time.perf_counter()
    model, tok = load_for_inference(adapter_dir, _fp32(base), merge=recipe.eval.merge_adapter)
    starts = [justification_start(t) for t in tiers]
    gens = generate_after(model, tok, _prompts(rows), starts, batch_size=recipe.eval.batch_size,
                          max_new_tokens=recipe.eval.max_new_tokens, progress=False, on_progress=progress)
    del model
    gc.collect()
    by_id = clean.set_index(ID)
    out = []
    for row, tier, (kept, text) in zip(rows, tiers, gens):
        generated = read_justification(kept, text)
        facts = by_id.loc[str(row["id"])].to_dict()
        shipped, source, violations = shipped_justification(generated, facts, stats, tier)
        check = check_faithful(shipped, facts, stats)
        out.append({"id": row["id"], "tier": tier, "raw": kept + text, "generated": generated,
                    "faithful": source == MODEL, "violations": violations, "justification": shipped,
                    "source": source, "n_claims": len(check.claims), "shipped_faithful": check.ok})
    return out, round(time.perf_counter() - t0, 2)


def run_model(adapter_dir: Path, base: BaseModelConfig, val: list[dict], test: list[dict], recipe: Recipe,
              progress: ProgressFn | None) -> dict:
    """Tier probabilities for val and test (one forward pass each, fp32; stages ``score test`` and ``score val``
    of ``progress``)."""
    from riskft_pipeline.training.infer import choice_probabilities, load_for_inference

    t0 = time.perf_counter()
    model, tok = load_for_inference(adapter_dir, _fp32(base), merge=recipe.eval.merge_adapter)
    t1 = time.perf_counter()
    kw = {"choices": TIERS, "answer_prefix": ANSWER_PREFIX, "batch_size": recipe.eval.batch_size}
    p_test = choice_probabilities(model, tok, _prompts(test), on_progress=stage(progress, "score test"), **kw)
    t2 = time.perf_counter()
    p_val = choice_probabilities(model, tok, _prompts(val), on_progress=stage(progress, "score val"), **kw)
    t3 = time.perf_counter()
    del model
    gc.collect()
    timing = {"load_s": round(t1 - t0, 2), "score_test_s": round(t2 - t1, 2), "score_val_s": round(t3 - t2, 2),
              "test_examples_per_s": round(len(test) / (t2 - t1), 2) if t2 > t1 else None}
    return {"p_test": p_test, "p_val": p_val, "timing": timing}


# --- report ----------------------------------------------------------------------------------------------------


def _labels(rows: Sequence[dict]) -> np.ndarray:
    return np.array([int(r["label"]) for r in rows])


def _efforts(rows: Sequence[dict]) -> np.ndarray:
    return np.array([float(r["effort"]) for r in rows])


def _rounded(d: dict) -> dict:
    """4 decimals; NaN (e.g. AUC of a one-class sample) becomes None so report.json stays strict JSON."""
    return {k: (None if isinstance(v, float) and not np.isfinite(v) else round(v, 4) if isinstance(v, float) else v)
            for k, v in d.items()}


def build_report(methods: dict, tiers_pred: list[str], y_test: np.ndarray, justified: list[dict], context: dict
                 ) -> dict:
    rates, counts = tier_bug_rates(tiers_pred, y_test)
    n_just = len(justified)
    shipped = SHIPPED if SHIPPED in methods else "model"
    auc = methods[shipped]["auc"]
    return {
        "shipped": shipped,
        "methods": {m: _rounded(methods[m]) for m in METHODS if m in methods},
        "tier_bug_rates": _rounded(rates),
        "tier_counts": counts,
        "tier_rates_rise": bool(rates["low"] < rates["medium"] < rates["high"]),  # False when a tier is empty
        "faithful_rate": round(sum(j["faithful"] for j in justified) / n_just, 4) if n_just else None,
        "shipped_faithful_rate": (round(sum(j["shipped_faithful"] for j in justified) / n_just, 4) if n_just
                                  else None),
        "valid_answer_rate": round(sum(j["generated"] is not None for j in justified) / n_just, 4) if n_just else None,
        "n_justified": n_just,
        "primary_metric": {"name": "test_auc", "value": round(auc, 4) if np.isfinite(auc) else None},
        "n_test": len(y_test),
        "test_bug_rate": round(float(y_test.mean()), 4) if len(y_test) else None,
        "published_anchors": PUBLISHED_ANCHORS,
        **context,
    }


def evaluate_risk(adapter_dir: str | Path, data_dir: str | Path, out_dir: str | Path, *, recipe: Recipe | None = None,
                  progress: bool | ProgressFn = True) -> dict:
    """Score ``data_dir``'s test split with the adapter and the baselines; write and return the report.

    ``data_dir`` is the output of :func:`~riskft_pipeline.core.risk.examples.prepare_risk`. With
    ``recipe.eval.max_test_examples`` set (CPU), a seeded sample of the test and validation splits is scored and
    every baseline is scored on exactly the same test rows; ``report["full_test_set"]`` says which.

    ``progress``: ``progress(stage, done, total)`` after each batch of the model's stages (``score test``, ``score
    val``, ``justify``), 0 first; ``True``: throttled lines on stderr; ``False``: nothing.
    """
    from riskft_pipeline.training.infer import read_adapter_meta

    adapter_dir, data_dir, out_dir = Path(adapter_dir), Path(data_dir), Path(out_dir)
    t_start = time.perf_counter()
    meta = read_adapter_meta(adapter_dir)
    recipe = recipe or Recipe.model_validate(meta["recipe"])
    risk_cfg = recipe.risk or RiskConfig()
    seed, cap = recipe.train.seed, recipe.eval.max_test_examples
    stats, tier_def = load_context(data_dir)
    all_test = _read(data_dir, "test")
    test, val = _cap(all_test, cap, seed), _cap(_read(data_dir, "val"), cap, seed)
    clean = pd.read_parquet(data_dir / "clean.parquet")
    sample = _cap(test, risk_cfg.max_justified_examples, seed + 1) if risk_cfg.justification else []

    base = BaseModelConfig(**meta["base_model"]["config"])
    report_progress = as_progress(progress)
    run = run_model(adapter_dir, base, val, test, recipe, report_progress)
    y_test, y_val = _labels(test), _labels(val)
    s_val, s_test = tier_scores(run["p_val"]), tier_scores(run["p_test"])
    methods = {"model": score_method(y_val, s_val, y_test, s_test, _efforts(test))}
    t0 = time.perf_counter()
    frames = {name: clean[clean["split"] == name] for name in ("train", "val", "test")}
    test_frame = frames["test"].set_index(ID).loc[[str(r["id"]) for r in test]].reset_index()
    val_frame = frames["val"].set_index(ID).loc[[str(r["id"]) for r in val]].reset_index()
    baseline_metrics, baseline_scores = fit_baselines(frames["train"], frames["val"], test_frame, seed=seed)
    methods.update(baseline_metrics)
    predictor = fit_predictor(frames["train"], val_frame, y_val, s_val, tuple(risk_cfg.tiers_quantiles))
    fused_val, fused_test = shipped_scores(predictor, s_val, val_frame), shipped_scores(predictor, s_test, test_frame)
    methods[SHIPPED] = score_method(y_val, fused_val, y_test, fused_test, _efforts(test))
    cuts = predictor["tier_cuts"]
    tiers_pred = tiers_from_scores(fused_test, cuts)
    tier_of = dict(zip((str(r["id"]) for r in test), tiers_pred))
    justified, run["timing"]["justify_s"] = justify_sample(adapter_dir, base, sample,
                                                           [tier_of[str(r["id"])] for r in sample], clean, stats,
                                                           recipe, stage(report_progress, "justify"))
    margins = {
        "fused_minus_logreg": fusion.paired_bootstrap(fusion.auc_diff(y_test, fused_test, baseline_scores["logreg"]),
                                                      len(y_test), seed=seed),
        "model_minus_lapredict": fusion.paired_bootstrap(
            fusion.auc_diff(y_test, s_test, baseline_scores["lapredict"]), len(y_test), seed=seed),
        "fused_minus_best_baseline": fusion.paired_bootstrap(
            fusion.auc_diff(y_test, fused_test, baseline_scores[_best(baseline_metrics)]), len(y_test), seed=seed),
    }
    summary = _summary(data_dir)
    context = {
        "split": summary.get("split", {}),
        "full_test_set": len(test) == len(all_test),
        "tier_definition": tier_def.to_dict(),
        "history": {"n_train": stats.n_train, "base_rate": round(stats.base_rate, 4),
                    "train_period": stats.train_period},
        "model_score": "P(high) + 0.5*P(medium), fp32, one forward pass; F1 threshold chosen on validation",
        "shipped_score": ("fused: sigmoid(w*z(adapter score) + (1-w)*z(logreg P(bug))), z-scores and w from validation "
                          "(w: the adapter's share of a stacked logistic regression's slopes on validation; "
                          f"w = {predictor['fusion']['weight']:.2f}); tiers are bands of this score"),
        "predictor": predictor,
        "margins": margins,
        "best_baseline": _best(baseline_metrics),
        "lm_contribution": _lm_sentence(margins["fused_minus_logreg"], predictor["fusion"]["weight"], len(y_test)),
        "tier_cuts": cuts,
        "zones": {**predictor["zones"], "test_capture": zone_capture(y_test, fused_test, predictor["zones"])},
        "text_columns": summary.get("text_columns", []),
        "n_train_examples": meta.get("train", {}).get("n_train_examples"),
        "train": {k: meta.get("train", {}).get(k) for k in ("train_runtime_s", "tokens_per_s", "steps",
                                                             "final_loss")},
        "adapter_dir": str(adapter_dir),
        "recipe_hash": recipe_hash(recipe),
        "data": {s: sha256_file(data_dir / f"{s}.jsonl") for s in ("train", "val", "test")},
        "base_model": meta["base_model"]["identity"],
        "timing": {"model": run["timing"], "baselines_s": round(time.perf_counter() - t0, 2)},
    }
    report = build_report(methods, tiers_pred, y_test, justified, context)
    _write_outputs(out_dir, report, test, run["p_test"], fused_test, baseline_scores, justified)
    _write_val_scores(out_dir, val, s_val, fused_val, logreg_scores(predictor["tabular"], val_frame))
    report["timing"]["total_s"] = round(time.perf_counter() - t_start, 2)
    write_card(adapter_dir, meta, report)  # the adapter's README.md now states what it scored against the baselines
    write_json(out_dir / "report.json", report)
    return report


def fit_predictor(train: pd.DataFrame, val: pd.DataFrame, y_val: np.ndarray, s_val: np.ndarray,
                  quantiles: tuple[float, float]) -> dict:
    """The shipped predictor's parts besides the adapter, all fitted on train (logreg) or chosen on validation
    (fusion weight and standardisation, tier cut points). JSON-ready."""
    tab = fit_logreg(train)
    choice = fusion.choose_score_fusion(y_val, s_val, logreg_scores(tab, val))
    pred = {"kind": "risk-fusion", "tabular": tab, "fusion": choice.to_dict()}
    fused_val = shipped_scores(pred, s_val, val)
    pred["tier_cuts"] = score_cuts(fused_val, quantiles)
    pred["zones"] = fit_zones(fused_val)
    return pred


def shipped_scores(predictor: dict, adapter_scores: np.ndarray, frame: pd.DataFrame) -> np.ndarray:
    """The shipped risk score of each change: the fused adapter + logreg score (see :func:`fit_predictor`)."""
    return fusion.ScoreFusion(**predictor["fusion"])(adapter_scores, logreg_scores(predictor["tabular"], frame))


def _best(baseline_metrics: dict) -> str:
    """The baseline with the best test AUC (what the shipped predictor has to beat)."""
    return max(baseline_metrics, key=lambda b: (np.nan_to_num(baseline_metrics[b]["auc"], nan=-1.0), b))


def _lm_sentence(margin: dict, weight: float, n: int) -> str:
    adds = margin["lo"] is not None and margin["lo"] > 0
    return (f"The language model {'adds' if adds else 'does not clearly add'} ranking power over logistic "
            f"regression on this run: fused minus logreg test AUC {margin['diff']:+.3f} (95% paired bootstrap "
            f"{_fmt(margin['lo'])} to {_fmt(margin['hi'])}, {n} test changes; adapter weight {weight:.2f}).")


def _summary(data_dir: Path) -> dict:
    path = data_dir / "summary.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


# --- outputs ---------------------------------------------------------------------------------------------------


def _write_outputs(out_dir: Path, report: dict, test: list[dict], probs: np.ndarray, fused: np.ndarray,
                   baseline_scores: dict, justified: list[dict]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    by_id = {j["id"]: j for j in justified}
    scores = tier_scores(probs)
    tiers = tiers_from_scores(fused, report["tier_cuts"])
    zones, pct = zone_of(fused, report["zones"]), percentiles(fused, report["zones"])
    rows = []
    for k, row in enumerate(test):
        item = {"id": row["id"], "label": int(row["label"]), "effort": float(row["effort"]),
                **{f"p_{t}": round(float(probs[k, i]), 6) for i, t in enumerate(TIERS)},
                "adapter_score": round(float(scores[k]), 6), "score": round(float(fused[k]), 6), "tier": tiers[k],
                "percentile": round(float(pct[k]), 1), "zone": zones[k],
                **{f"score_{b}": round(float(baseline_scores[b][k]), 6) for b in BASELINES}}
        if row["id"] in by_id:
            j = by_id[row["id"]]
            item.update({"generated": j["raw"], "faithful": j["faithful"], "violations": j["violations"],
                         "justification": j["justification"], "justification_source": j["source"]})
        rows.append(item)
    write_jsonl(out_dir / "predictions.jsonl", rows)
    curves = {"model": scores, SHIPPED: fused, **baseline_scores}
    image = _roc_png(out_dir, _labels(test), curves, report)
    with atomic_write(out_dir / "report.md") as fh:
        fh.write(render_markdown(report, [image]))


def _write_val_scores(out_dir: Path, val: list[dict], adapter: np.ndarray, fused: np.ndarray, tabular: np.ndarray
                      ) -> None:
    """``val_scores.jsonl``: the validation scores every choice of the shipped predictor was made from (fusion
    weight, tier cuts, zones), so an auditor or a fusion study can re-derive them without re-running the model."""
    write_jsonl(out_dir / "val_scores.jsonl",
                [{"id": r["id"], "label": int(r["label"]), "adapter_score": round(float(a), 6),
                  "score_logreg": round(float(t), 6), "score": round(float(f), 6)}
                 for r, a, t, f in zip(val, adapter, tabular, fused)])


def _roc_png(out_dir: Path, y: np.ndarray, curves: dict[str, np.ndarray], report: dict) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    fig, ax = plt.subplots(figsize=(4.8, 4.4))
    if len(np.unique(y)) == 2:
        for name, s in curves.items():
            fpr, tpr, _ = roc_curve(y, s)
            ax.plot(fpr, tpr, label=f"{name} (AUC {roc_auc(y, s):.3f})", lw=2 if name == SHIPPED else 1)
    ax.plot([0, 1], [0, 1], ls=":", color="grey")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(f"ROC on the test split (n={report['n_test']})")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    with atomic_write(out_dir / "roc.png", mode="wb") as fh:
        fig.savefig(fh, format="png", dpi=110)
    plt.close(fig)
    return "roc.png"


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "–"
    return f"{v:.3f}"


def _ci(m: dict) -> str:
    return f"{m['diff']:+.3f} [{_fmt(m['lo'])}, {_fmt(m['hi'])}]"


def _zones_line(report: dict) -> str:
    """What each review zone of the shipped score flagged and caught on the test split."""
    capture = report.get("zones", {}).get("test_capture", {})
    if not capture:
        return ""
    parts = [f"{name} flagged {_fmt(c['flagged_share'])} of changes and caught {_fmt(c['recall'])} of the bug-inducing "
             f"ones (precision {_fmt(c['precision'])})" for name, c in capture.items()]
    line = ("Review zones (the riskiest 5/10/20% by the shipped score, cut on validation; columns `caught_topN` "
            "give every method's share caught): " + "; ".join(parts) + ".")
    shifted = [s for s in shift_of_counts({k: c["flagged"] for k, c in capture.items()}, report["n_test"])
               if s["shifted"]]
    if shifted:
        more = [s["observed"] > s["expected"] for s in shifted]
        way = "more" if all(more) else "fewer" if not any(more) else "a different share of"
        line += (f" The test period put {way} changes in " + ", ".join(s["zone"] for s in shifted)
                 + " than the validation period did (beyond chance): its changes score differently from the ones the "
                 "cut points were fitted on, and new changes may too.")
    return line


def render_markdown(report: dict, images: Sequence[str]) -> str:
    split = report.get("split", {})
    sizes, bounds = split.get("sizes", {}), split.get("boundaries", {})
    lines = [
        "# Change risk: evaluation report", "",
        f"Test changes: {report['n_test']} ({'full test period' if report['full_test_set'] else 'seeded sample'}; "
        f"bug rate {_fmt(report['test_bug_rate'])}). Split sizes: "
        + ", ".join(f"{k} {v}" for k, v in sizes.items())
        + (f"; test period {bounds.get('test_start', '?')} → {bounds.get('test_end', '?')}." if bounds else "."),
        "",
        (f"Primary metric `test_auc` ({report.get('shipped', 'model')}): "
         f"**{_fmt(report['primary_metric']['value'])}**. Adapter score (`model`): {report['model_score']}."
         + (f" Shipped score (`fused`): {report['shipped_score']}." if report.get("shipped_score") else "")), "",
    ]
    if report.get("lm_contribution"):
        m = report["margins"]
        lines += [report["lm_contribution"], "",
                  (f"Paired-bootstrap AUC differences [95%]: fused − logreg {_ci(m['fused_minus_logreg'])}; "
                   f"fused − best baseline ({report['best_baseline']}) {_ci(m['fused_minus_best_baseline'])}; "
                   f"adapter alone − LApredict {_ci(m['model_minus_lapredict'])}."), ""]
    lines += ["| method | " + " | ".join(METRICS) + " |", "|---|" + "---|" * len(METRICS)]
    for m in METHODS:
        if m not in report["methods"]:
            continue
        lines.append(f"| {m} | " + " | ".join(_fmt(report["methods"][m].get(k)) for k in METRICS) + " |")
    rates, counts = report["tier_bug_rates"], report["tier_counts"]
    lines += [
        "", f"Predicted tier: {report.get('tier_cuts', {}).get('rule', 'most probable tier')}.", "",
        "Observed bug rate per predicted tier (must rise low → medium → high): "
        + ", ".join(f"{t} {_fmt(rates[t])} (n={counts[t]})" for t in TIERS)
        + f" — {'rises' if report['tier_rates_rise'] else 'does NOT rise'}.", "",
        _zones_line(report), "",
        (f"Justifications (written for the shipped tier of {report['n_justified']} sampled changes): the model's own "
         f"are faithful for {_fmt(report['faithful_rate'])} (readable {_fmt(report['valid_answer_rate'])}); the rest "
         "are replaced by the rule-based justification of the same tier, so the shipped ones are faithful for "
         f"{_fmt(report.get('shipped_faithful_rate'))}."), "",
        f"Tier definition (training period only): {report['tier_definition'].get('description', '')}", "",
        "Published anchors (test AUC, same split): "
        + "; ".join(f"{k} {v}" for k, v in report["published_anchors"].items() if k != "metric") + ".", "",
    ]
    lines += [f"![{name}]({name})" for name in images]
    return "\n".join(lines) + "\n"
