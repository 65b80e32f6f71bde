"""Late fusion of the language model with the tabular model, and what the fused probabilities are used for.

Pure numpy: no torch, no sklearn fitting. Every choice made here (the fusion weight, the review threshold) reads
**validation** data only; test data is only scored with what validation chose.

- Categorical fields (tickets): a linear pool ``w·p_adapter + (1-w)·p_tabular`` of two distributions over the same
  labels; ``w`` maximises validation accuracy, ties broken by validation log-loss, then by the larger weight on the
  tabular model (the cheaper part).
- Ranking scores (change risk): the two scores standardised with their *validation* mean and spread, then
  ``sigmoid(w·z_adapter + (1-w)·z_tabular)``; ``w`` is the adapter's share of the slopes of a logistic regression
  of the validation outcomes on the two z-scores (stacking, L2-penalised like scikit-learn's default ``C=1``). It
  replaced the arg-max of validation AUC over a weight grid, which jumps on a few hundred validation changes: on
  mined flask (304) the grid chose .15 and the fused score lost .011 test AUC to LApredict, stacking chose .31
  (docs/quality.md, "Choosing the fusion weight").
- Selective prediction: the lowest confidence threshold at which validation precision reaches the target; test
  coverage and precision at that threshold are reported, rows below it are marked for review.
- Calibration: expected calibration error (equal-width bins of the top probability).
- Uncertainty: paired bootstrap of a metric's difference between two predictors on the same test rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

WEIGHT_GRID: tuple[float, ...] = tuple(round(0.05 * k, 2) for k in range(21))


def linear_pool(p_model: np.ndarray, p_tab: np.ndarray, weight: float) -> np.ndarray:
    """``weight·p_model + (1-weight)·p_tab``, rows renormalised (both are ``(n, n_labels)`` in the same label order)."""
    p = weight * np.asarray(p_model, dtype=float) + (1.0 - weight) * np.asarray(p_tab, dtype=float)
    return p / np.maximum(p.sum(axis=1, keepdims=True), 1e-300)


def _log_loss(p: np.ndarray, y: np.ndarray) -> float:
    """Mean negative log-probability of the true label over rows whose label is a candidate (``y >= 0``); a label
    unseen in training (``-1``) is always wrong and has no probability to score."""
    known = y >= 0
    if not known.any():
        return 0.0
    return float(-np.mean(np.log(np.clip(p[np.flatnonzero(known), y[known]], 1e-12, 1.0))))


@dataclass(frozen=True)
class WeightChoice:
    weight: float
    val_score: float      # validation accuracy (distributions) or AUC (scores) at ``weight``
    val_tiebreak: float   # validation log-loss (distributions); 0 for scores
    grid: tuple[float, ...]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["grid"] = [min(self.grid), max(self.grid), len(self.grid)]
        return d


def choose_pool_weight(y_val: Sequence[int], p_model_val: np.ndarray, p_tab_val: np.ndarray,
                       grid: Sequence[float] = WEIGHT_GRID) -> WeightChoice:
    """The linear-pool weight with the best validation accuracy (``y_val``: label indices, -1 for a label that is
    not a candidate)."""
    y = np.asarray(y_val, dtype=int)
    best: tuple | None = None
    for w in grid:
        p = linear_pool(p_model_val, p_tab_val, w)
        acc = float((p.argmax(axis=1) == y).mean()) if len(y) else 0.0
        key = (acc, -_log_loss(p, y), -w)
        if best is None or key > best[0]:
            best = (key, WeightChoice(float(w), acc, _log_loss(p, y), tuple(grid)))
    return best[1]


@dataclass(frozen=True)
class ScoreFusion:
    """``sigmoid(weight·(s_model-mean_m)/sd_m + (1-weight)·(s_tab-mean_t)/sd_t)`` with means/spreads from validation.

    The sigmoid changes no ranking (AUC, tiers); it keeps the score positive, as the effort-aware metrics need
    (they rank by score / effort: a negative z-score would put large changes first)."""

    weight: float
    mean_model: float
    sd_model: float
    mean_tab: float
    sd_tab: float
    val_auc: float

    def __call__(self, s_model: np.ndarray, s_tab: np.ndarray) -> np.ndarray:
        zm = (np.asarray(s_model, dtype=float) - self.mean_model) / self.sd_model
        zt = (np.asarray(s_tab, dtype=float) - self.mean_tab) / self.sd_tab
        return 1.0 / (1.0 + np.exp(-(self.weight * zm + (1.0 - self.weight) * zt)))

    def to_dict(self) -> dict:
        return asdict(self)


def _auc(y: np.ndarray, s: np.ndarray) -> float:
    """Mann-Whitney AUC with ties counted half (numpy only); NaN with one class."""
    y = np.asarray(y).astype(int)
    pos, neg = int(y.sum()), int(len(y) - y.sum())
    if pos == 0 or neg == 0:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s), dtype=float)
    sorted_s = np.asarray(s, dtype=float)[order]
    # average ranks over ties
    _, first, counts = np.unique(sorted_s, return_index=True, return_counts=True)
    avg = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(avg, counts)
    return float((ranks[y == 1].sum() - pos * (pos + 1) / 2.0) / (pos * neg))


def stacked_slopes(y: np.ndarray, x: np.ndarray, l2: float = 1.0, max_iter: int = 100) -> np.ndarray:
    """``(intercept, slopes…)`` of the logistic regression of ``y`` (0/1) on the columns of ``x``, minimising the
    summed log-loss + ``l2/2·|slopes|²`` (the intercept is not penalised: scikit-learn's ``C=1/l2``), by Newton's
    method."""
    X = np.c_[np.ones(len(y)), np.asarray(x, dtype=float)]
    y = np.asarray(y, dtype=float)
    pen = np.r_[0.0, np.full(X.shape[1] - 1, float(l2))]
    beta = np.zeros(X.shape[1])
    for _ in range(max_iter):
        p = 1.0 / (1.0 + np.exp(-np.clip(X @ beta, -35, 35)))
        grad = X.T @ (p - y) + pen * beta
        hess = (X * (p * (1.0 - p))[:, None]).T @ X + np.diag(pen) + 1e-9 * np.eye(len(beta))
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < 1e-10:
            break
    return beta


def choose_score_fusion(y_val: Sequence[int], s_model_val: np.ndarray, s_tab_val: np.ndarray) -> ScoreFusion:
    """Standardise both validation scores; the weight is the adapter's share of the (non-negative) slopes of the
    stacked logistic regression on the two z-scores (:func:`stacked_slopes`); 0 (tabular model alone) when
    validation has one class or neither slope is positive."""
    sm, st = np.asarray(s_model_val, dtype=float), np.asarray(s_tab_val, dtype=float)
    y = np.asarray(y_val).astype(int)
    mm, mt = float(sm.mean()) if len(sm) else 0.0, float(st.mean()) if len(st) else 0.0
    dm, dt = float(sm.std()) if len(sm) else 0.0, float(st.std()) if len(st) else 0.0
    dm, dt = dm if dm > 0 else 1.0, dt if dt > 0 else 1.0
    weight = 0.0
    if len(y) and 0 < y.sum() < len(y):
        _, a, t = np.maximum(stacked_slopes(y, np.c_[(sm - mm) / dm, (st - mt) / dt]), 0.0)
        weight = round(float(a / (a + t)), 4) if a + t > 0 else 0.0
    auc = _auc(y, ScoreFusion(weight, mm, dm, mt, dt, float("nan"))(sm, st)) if len(y) else float("nan")
    return ScoreFusion(weight, mm, dm, mt, dt, float(auc) if np.isfinite(auc) else -1.0)


# --- selective prediction and calibration ----------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewThreshold:
    """Rows with confidence ``>= threshold`` are filled in automatically; the rest need a person."""

    threshold: float | None     # None: no threshold reaches the target on validation (everything needs review)
    target_precision: float
    val_precision: float | None
    val_coverage: float

    def to_dict(self) -> dict:
        return asdict(self)


def precision_threshold(conf_val: Sequence[float], correct_val: Sequence[bool], target: float = 0.95,
                        min_rows: int = 5) -> ReviewThreshold:
    """The lowest confidence threshold at which validation precision (share correct among rows at or above it)
    reaches ``target`` with at least ``min_rows`` rows kept: the largest coverage that meets the target."""
    c = np.asarray(conf_val, dtype=float)
    ok = np.asarray(correct_val, dtype=bool)
    order = np.argsort(-c, kind="mergesort")
    c_sorted, ok_sorted = c[order], ok[order]
    hits = np.cumsum(ok_sorted)
    best = None
    for k in range(len(c_sorted)):
        # only cut between distinct confidences: every row with the same confidence is kept together
        if k + 1 < len(c_sorted) and c_sorted[k + 1] == c_sorted[k]:
            continue
        n = k + 1
        if n >= min_rows and hits[k] / n >= target:
            best = (float(c_sorted[k]), float(hits[k] / n), n / len(c_sorted))
    if best is None:
        return ReviewThreshold(None, target, None, 0.0)
    return ReviewThreshold(best[0], target, round(best[1], 4), round(best[2], 4))


def selective_scores(conf: Sequence[float], correct: Sequence[bool], threshold: float | None) -> dict:
    """Coverage and precision on (test) rows at a threshold chosen elsewhere."""
    c = np.asarray(conf, dtype=float)
    ok = np.asarray(correct, dtype=bool)
    if threshold is None or not len(c):
        return {"coverage": 0.0, "precision": None, "n_auto": 0}
    keep = c >= threshold
    return {"coverage": round(float(keep.mean()), 4),
            "precision": round(float(ok[keep].mean()), 4) if keep.any() else None, "n_auto": int(keep.sum())}


def expected_calibration_error(conf: Sequence[float], correct: Sequence[bool], n_bins: int = 10) -> float:
    """Σ_bins (|bin| / n)·|accuracy(bin) − mean confidence(bin)| over equal-width confidence bins."""
    c = np.asarray(conf, dtype=float)
    ok = np.asarray(correct, dtype=float)
    if not len(c):
        return float("nan")
    bins = np.minimum((c * n_bins).astype(int), n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        m = bins == b
        if m.any():
            ece += m.mean() * abs(ok[m].mean() - c[m].mean())
    return float(ece)


# --- uncertainty -----------------------------------------------------------------------------------------------


def paired_bootstrap(metric: Callable[[np.ndarray], float], n_rows: int, n_boot: int = 1000,
                     seed: int = 0) -> dict:
    """``metric(idx)`` is the difference (A − B) of a metric computed on rows ``idx`` for both predictors; returns
    the difference on all rows and the 95% percentile interval over ``n_boot`` resamples of the same rows for both
    (resamples where the metric is undefined, e.g. one-class AUC, are dropped)."""
    rng = np.random.default_rng(seed)
    full = float(metric(np.arange(n_rows)))
    draws = []
    for _ in range(n_boot):
        v = metric(rng.integers(0, n_rows, n_rows))
        if np.isfinite(v):
            draws.append(v)
    if not draws:
        return {"diff": full, "lo": None, "hi": None, "n_boot": 0}
    lo, hi = np.percentile(draws, [2.5, 97.5])
    return {"diff": round(full, 4), "lo": round(float(lo), 4), "hi": round(float(hi), 4), "n_boot": len(draws)}


def accuracy_diff(y: Sequence, pred_a: Sequence, pred_b: Sequence) -> Callable[[np.ndarray], float]:
    """For :func:`paired_bootstrap`: accuracy(A) − accuracy(B) on the rows ``idx``."""
    y_arr = np.asarray([str(v) for v in y], dtype=object)
    a = np.asarray([str(v) for v in pred_a], dtype=object) == y_arr
    b = np.asarray([str(v) for v in pred_b], dtype=object) == y_arr
    return lambda idx: float(a[idx].mean() - b[idx].mean())


def auc_diff(y: Sequence[int], s_a: Sequence[float], s_b: Sequence[float]) -> Callable[[np.ndarray], float]:
    """For :func:`paired_bootstrap`: AUC(A) − AUC(B) on the rows ``idx``."""
    y_arr, a, b = np.asarray(y).astype(int), np.asarray(s_a, dtype=float), np.asarray(s_b, dtype=float)
    return lambda idx: _auc(y_arr[idx], a[idx]) - _auc(y_arr[idx], b[idx])
