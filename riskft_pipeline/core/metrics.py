"""Metrics for both jobs: field accuracy/F1 and free-text matching for tickets; ranking and effort-aware metrics for
change risk. Pure: numpy/sklearn only. Missing values (``None``) are a class of their own (``"<null>"``).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence

import numpy as np
from sklearn.metrics import f1_score, roc_auc_score

NULL = "<null>"


def _label(v) -> str:
    if v is None:
        return NULL
    if isinstance(v, float) and np.isnan(v):
        return NULL
    return str(v)


def accuracy(y_true: Sequence, y_pred: Sequence) -> float:
    if len(y_true) != len(y_pred):
        raise ValueError("y_true and y_pred differ in length")
    if not len(y_true):
        return float("nan")
    return float(np.mean([_label(a) == _label(b) for a, b in zip(y_true, y_pred)]))


def macro_f1(y_true: Sequence, y_pred: Sequence) -> float:
    """Macro-F1 over the classes that occur in ``y_true`` (a class only ever predicted, never true, does not dilute
    the average but its false positives still lower the precision of nothing and the recall of the true classes)."""
    t = [_label(v) for v in y_true]
    p = [_label(v) for v in y_pred]
    if not t:
        return float("nan")
    labels = sorted(set(t))
    return float(f1_score(t, p, labels=labels, average="macro", zero_division=0))


def normalise_text(s) -> str:
    if s is None:
        return ""
    s = unicodedata.normalize("NFKC", str(s)).casefold()
    s = re.sub(r"[^\w\s]", " ", s)
    return " ".join(s.split())


def exact_match(y_true: Sequence, y_pred: Sequence) -> float:
    if not len(y_true):
        return float("nan")
    return float(np.mean([normalise_text(a) == normalise_text(b) for a, b in zip(y_true, y_pred)]))


def _token_f1_one(a, b) -> float:
    ta, tb = normalise_text(a).split(), normalise_text(b).split()
    if not ta and not tb:
        return 1.0
    if not ta or not tb:
        return 0.0
    common = sum((Counter(ta) & Counter(tb)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(tb), common / len(ta)
    return 2 * precision * recall / (precision + recall)


def token_f1(y_true: Sequence, y_pred: Sequence) -> float:
    """Mean SQuAD-style token F1 between normalised strings."""
    if not len(y_true):
        return float("nan")
    return float(np.mean([_token_f1_one(a, b) for a, b in zip(y_true, y_pred)]))


def field_scores(y_true: Sequence, y_pred: Sequence, free_text: bool = False) -> dict[str, float]:
    out = {"accuracy": accuracy(y_true, y_pred), "macro_f1": macro_f1(y_true, y_pred)}
    if free_text:
        out["exact_match"] = exact_match(y_true, y_pred)
        out["token_f1"] = token_f1(y_true, y_pred)
    return out


def confusion(y_true: Sequence, y_pred: Sequence, top_k: int | None = None) -> tuple[list[str], np.ndarray]:
    """Confusion matrix (rows = true, columns = predicted) over the ``top_k`` most frequent true labels, the rest
    folded into ``"(other)"``."""
    t = [_label(v) for v in y_true]
    p = [_label(v) for v in y_pred]
    labels = [lab for lab, _ in Counter(t).most_common(top_k)]
    keep = set(labels)
    other = "(other)"
    if top_k is not None and (set(t) | set(p)) - keep:
        labels.append(other)
    index = {lab: i for i, lab in enumerate(labels)}
    m = np.zeros((len(labels), len(labels)), dtype=int)
    for a, b in zip(t, p):
        m[index.get(a, index.get(other, 0)), index.get(b, index.get(other, 0))] += 1
    return labels, m


# --- change risk -------------------------------------------------------------------------------------------------


def roc_auc(y: Sequence[int], score: Sequence[float]) -> float:
    y = np.asarray(y)
    if len(np.unique(y)) < 2:
        return float("nan")
    return float(roc_auc_score(y, np.asarray(score, dtype=float)))


def best_threshold(y: Sequence[int], score: Sequence[float]) -> float:
    """The score threshold that maximises F1 (choose it on validation data, apply it to test)."""
    y = np.asarray(y).astype(int)
    s = np.asarray(score, dtype=float)
    candidates = np.unique(s)
    if len(candidates) > 512:
        candidates = np.unique(np.quantile(s, np.linspace(0, 1, 513)))
    best, best_f1 = float(candidates[0]), -1.0
    for thr in candidates:
        f1 = f1_at_threshold(y, s, thr)
        if f1 > best_f1:
            best, best_f1 = float(thr), f1
    return best


def f1_at_threshold(y: Sequence[int], score: Sequence[float], threshold: float) -> float:
    y = np.asarray(y).astype(int)
    pred = (np.asarray(score, dtype=float) >= threshold).astype(int)
    return float(f1_score(y, pred, zero_division=0))


def _effort_order(score: np.ndarray, effort: np.ndarray) -> np.ndarray:
    """Inspection order: highest predicted defect density first (score / effort, as JITLine and JIT-Fine rank),
    ties broken by smaller effort, then by position (stable)."""
    density = score / np.maximum(effort, 1.0)
    return np.lexsort((np.arange(len(score)), effort, -density))


def effort_metrics(y: Sequence[int], score: Sequence[float], effort: Sequence[float]) -> dict[str, float]:
    """Effort-aware metrics with effort = changed lines (``la + ld``):

    - ``recall_at_20_effort``: share of defect-inducing changes found when inspecting, in ranked order, changes
      until 20% of the total effort is spent.
    - ``effort_at_20_recall``: share of the total effort spent when 20% of the defect-inducing changes are found.
    - ``popt``: ``1 - (area(optimal) - area(model)) / (area(optimal) - area(worst))`` under the cumulative
      recall-vs-effort curve (Kamei et al. 2013), optimal = true defects first by density, worst = the reverse.
    """
    y = np.asarray(y).astype(int)
    s = np.asarray(score, dtype=float)
    e = np.maximum(np.asarray(effort, dtype=float), 0.0)
    n_bug = int(y.sum())
    total = float(e.sum())
    if n_bug == 0 or total <= 0:
        return {"recall_at_20_effort": float("nan"), "effort_at_20_recall": float("nan"), "popt": float("nan")}

    def curve(order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = np.concatenate([[0.0], np.cumsum(e[order]) / total])
        r = np.concatenate([[0.0], np.cumsum(y[order]) / n_bug])
        return x, r

    x, r = curve(_effort_order(s, e))
    idx = np.searchsorted(x, 0.2, side="right") - 1
    recall20 = float(r[idx])
    k = int(np.argmax(r >= 0.2))
    effort20 = float(x[k])

    opt_x, opt_r = curve(_effort_order(y.astype(float), e))
    # worst: clean changes first, then defective ones, largest effort first within each group
    worst_x, worst_r = curve(np.lexsort((np.arange(len(y)), -e, y)))
    area = np.trapezoid if hasattr(np, "trapezoid") else np.trapz
    a_m, a_opt, a_worst = area(r, x), area(opt_r, opt_x), area(worst_r, worst_x)
    popt = 1.0 - (a_opt - a_m) / (a_opt - a_worst) if a_opt > a_worst else float("nan")
    return {"recall_at_20_effort": recall20, "effort_at_20_recall": effort20, "popt": float(popt)}
