"""The literature's baselines, computed in the same run and on the same split as the fine-tuned model.

- ``lapredict``: logistic regression on ``log1p(la)`` alone (Yan et al.'s LApredict: lines added is the strongest
  single predictor of defect-inducing changes);
- ``logreg``: logistic regression on the 14 ``log1p`` metrics, standardised with a scaler fitted on train only;
- ``gbm``: scikit-learn's HistGradientBoostingClassifier on the raw 14 metrics (trees need no transform).

Each is fitted on ``train``, its F1 threshold is chosen on ``val`` (:func:`~riskft_pipeline.core.metrics.
best_threshold`) and it is scored on ``test`` with the same metrics as the model (:func:`score_method`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from riskft_pipeline.core import metrics
from riskft_pipeline.core.risk.features import FEATURES, LABEL, feature_matrix, log1p_features
from riskft_pipeline.core.risk.zones import fit_zones, zone_capture

BASELINES: tuple[str, ...] = ("lapredict", "logreg", "gbm")


def effort(df: pd.DataFrame) -> np.ndarray:
    """Inspection effort of a change: lines added + deleted (JITLine / JIT-Fine)."""
    return (df["la"] + df["ld"]).to_numpy(dtype=float)


def _la_only(df: pd.DataFrame) -> np.ndarray:
    return np.log1p(np.maximum(df[["la"]].to_numpy(dtype=float), 0.0))


def _models(seed: int) -> dict[str, tuple[Callable[[pd.DataFrame], np.ndarray], object]]:
    return {
        "lapredict": (_la_only, LogisticRegression(max_iter=1000)),
        "logreg": (log1p_features, make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))),
        "gbm": (feature_matrix, HistGradientBoostingClassifier(random_state=seed, max_iter=200, learning_rate=0.05,
                                                               early_stopping=False)),
    }


def score_method(y_val, s_val, y_test, s_test, effort_test) -> dict[str, float]:
    """AUC, F1 (threshold chosen on validation), the effort-aware metrics on test, and the share of the test split's
    bug-inducing changes caught by each risk zone (the riskiest 5/10/20%, cut on this method's validation scores:
    :mod:`~riskft_pipeline.core.risk.zones`), keys ``caught_top5`` ..."""
    threshold = metrics.best_threshold(y_val, s_val)
    out = {
        "auc": metrics.roc_auc(y_test, s_test),
        "f1": metrics.f1_at_threshold(y_test, s_test, threshold),
        "threshold": float(threshold),
    }
    out.update(metrics.effort_metrics(y_test, s_test, effort_test))
    capture = zone_capture(y_test, s_test, fit_zones(s_val))
    out.update({f"caught_{name}": c["recall"] for name, c in capture.items()})
    return out


def fit_baselines(train: pd.DataFrame, val: pd.DataFrame, test: pd.DataFrame, *, seed: int = 42,
                  ) -> tuple[dict[str, dict[str, float]], dict[str, np.ndarray]]:
    """Fit every baseline on ``train``; returns ``(metrics per method, test scores per method)``."""
    results: dict[str, dict[str, float]] = {}
    scores: dict[str, np.ndarray] = {}
    y_train = train[LABEL].to_numpy(dtype=int)
    for name, (features, model) in _models(seed).items():
        model.fit(features(train), y_train)
        s_val = model.predict_proba(features(val))[:, 1]
        s_test = model.predict_proba(features(test))[:, 1]
        results[name] = score_method(val[LABEL].to_numpy(dtype=int), s_val, test[LABEL].to_numpy(dtype=int), s_test,
                                     effort(test))
        scores[name] = s_test
    return results, scores


# --- the tabular half of the shipped risk predictor ------------------------------------------------------------


def fit_logreg(train: pd.DataFrame) -> dict:
    """The ``logreg`` baseline fitted on ``train`` and exported as plain numbers (JSON; no pickle travels with a
    registered model): ``p = sigmoid(((log1p(x) - mean) / scale) · coef + intercept)``."""
    _, model = _models(0)["logreg"]
    model.fit(log1p_features(train), train[LABEL].to_numpy(dtype=int))
    scaler, lr = model.steps[0][1], model.steps[-1][1]
    return {"kind": "logreg_log1p_14", "features": list(FEATURES), "mean": scaler.mean_.tolist(),
            "scale": scaler.scale_.tolist(), "coef": lr.coef_[0].tolist(), "intercept": float(lr.intercept_[0])}


def logreg_scores(params: dict, df: pd.DataFrame) -> np.ndarray:
    """P(bug) of each change under :func:`fit_logreg`'s exported parameters (numpy only)."""
    if list(params["features"]) != list(FEATURES):
        raise ValueError("the logistic regression was fitted on other features than this version's 14 metrics")
    z = (log1p_features(df) - np.asarray(params["mean"])) / np.asarray(params["scale"])
    return 1.0 / (1.0 + np.exp(-(z @ np.asarray(params["coef"]) + float(params["intercept"]))))
