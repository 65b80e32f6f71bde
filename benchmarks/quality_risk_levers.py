"""Change risk: can anything cheap beat the 14-metric logistic regression? Each lever measured on the same time split,
fused with logreg the way the shipped predictor fuses the adapter (validation-standardised scores, weight chosen on
validation by stacking: :func:`riskft_pipeline.core.fusion.choose_score_fusion`; the figures in docs/quality.md were
made with its earlier grid arg-max of validation AUC), test AUC side by side with logreg and the
paired-bootstrap 95% interval of the difference.

This is the ceiling study behind docs/quality.md's risk section: if no tabular or text signal available in the data
adds ranking power over logreg, a language model reading the same metrics cannot be expected to either.

    python benchmarks/quality_risk_levers.py                       # the embedded default history
    python benchmarks/quality_risk_levers.py ../shared/data/change_risk/openstack_k_feature.csv ...

Levers (each alone, against logreg):
- ``decay``: logreg with training changes weighted by recency (half-life a quarter of the training period);
- ``knn``: the bug rate of the 25 nearest training changes (standardised log-metrics), fused with logreg;
- ``text``: TF-IDF of commit message + diff summary with a logistic regression, fused with logreg (mined histories);
- ``files``: the training-period bug rate of earlier changes to the same files and directories, added as features.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import REPO_ROOT, offline_env

FILE_RE = re.compile(r"^(?:[ADMRTC]\w*\s+)?(?P<path>.+?)\s+\+\d+\s*-\d+$")


def changed_files(diff_summary) -> list[str]:
    """Paths in a diff summary (``M a/b.py +3 -1; A c.py +5 -0; … +9 more files`` or ``a/b.py +3-1``)."""
    out = []
    for part in str(diff_summary or "").split(";"):
        m = FILE_RE.match(part.strip())
        if m:
            out.append(m.group("path").split(" -> ")[-1])
    return out


def _dir(path: str) -> str:
    return path.rsplit("/", 1)[0] if "/" in path else "."


def file_history(frames: dict, y_train: np.ndarray) -> dict[str, np.ndarray]:
    """Per change: smoothed bug rate and log count of earlier training changes to its files, and the same per
    directory. Training rows see only earlier training rows; val/test rows see the whole training period."""
    base = float(y_train.mean())
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])

    def feats(files: list[str]) -> list[float]:
        n = sum(counts["f:" + f][0] for f in files)
        b = sum(counts["f:" + f][1] for f in files)
        nd = sum(counts["d:" + _dir(f)][0] for f in files)
        bd = sum(counts["d:" + _dir(f)][1] for f in files)
        return [(b + 2 * base) / (n + 2), float(np.log1p(n)), (bd + 2 * base) / (nd + 2)]

    rows = []
    for summary, label in zip(frames["train"]["diff_summary"], y_train):
        files = changed_files(summary)
        rows.append(feats(files))
        for f in files:
            for key in ("f:" + f, "d:" + _dir(f)):
                counts[key][0] += 1
                counts[key][1] += int(label)
    out = {"train": np.array(rows)}
    for name in ("val", "test"):
        out[name] = np.array([feats(changed_files(s)) for s in frames[name]["diff_summary"]])
    return out


def study(path: Path, seed: int) -> list[dict]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import NearestNeighbors

    from riskft_pipeline.core import fusion
    from riskft_pipeline.core.risk.features import LABEL, clean_changes, log1p_features, read_changes_csv
    from riskft_pipeline.core.risk.split import time_split

    split = time_split(clean_changes(read_changes_csv(path)).clean)
    frames = {"train": split.train, "val": split.val, "test": split.test}
    y = {k: f[LABEL].to_numpy(dtype=int) for k, f in frames.items()}
    x = {k: log1p_features(f) for k, f in frames.items()}
    mean, sd = x["train"].mean(0), x["train"].std(0)
    sd[sd == 0] = 1.0
    z = {k: (v - mean) / sd for k, v in x.items()}

    def logreg(features, weight=None):
        model = LogisticRegression(max_iter=3000).fit(features["train"], y["train"], sample_weight=weight)
        return {k: model.decision_function(features[k]) for k in ("val", "test")}

    base = logreg(z)
    scores: dict[str, dict[str, np.ndarray]] = {"logreg": base}
    n = len(y["train"])
    scores["decay"] = logreg(z, 0.5 ** ((n - 1 - np.arange(n)) / (0.25 * n)))
    nn = NearestNeighbors(n_neighbors=25).fit(z["train"])
    knn = {k: y["train"][nn.kneighbors(z[k], return_distance=False)].mean(1) for k in ("val", "test")}
    scores["knn"] = _fused(fusion, y["val"], knn, base)
    has_text = "message" in frames["train"] and frames["train"]["message"].fillna("").str.len().gt(0).any()
    if has_text:
        def text(f):
            return (f["message"].fillna("") + " " + f["diff_summary"].fillna("")).tolist()

        vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True,
                              token_pattern=r"[A-Za-z_][A-Za-z0-9_]+")
        t = {"train": vec.fit_transform(text(frames["train"]))}
        t.update({k: vec.transform(text(frames[k])) for k in ("val", "test")})
        scores["text"] = _fused(fusion, y["val"], logreg(t), base)
        hist = file_history(frames, y["train"])
        scores["files"] = logreg({k: np.hstack([z[k], hist[k]]) for k in z})
    rows = []
    for name, s in scores.items():
        margin = fusion.paired_bootstrap(fusion.auc_diff(y["test"], s["test"], base["test"]), len(y["test"]),
                                         seed=seed)
        rows.append({"data": path.name, "lever": name, "val_auc": fusion._auc(y["val"], s["val"]),
                     "test_auc": fusion._auc(y["test"], s["test"]), "minus_logreg": margin})
    return rows


def _fused(fusion, y_val, lever: dict, base: dict) -> dict[str, np.ndarray]:
    chosen = fusion.choose_score_fusion(y_val, lever["val"], base["val"])
    return {k: chosen(lever[k], base[k]) for k in ("val", "test")}


def main(argv=None) -> int:
    offline_env()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("inputs", nargs="*", type=Path, help="change CSVs (default: the embedded data/changes.csv)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    args = parser.parse_args(argv)
    inputs = args.inputs or [REPO_ROOT / "data" / "changes.csv"]
    print(f"{'data':<28}{'lever':<8}{'val AUC':>9}{'test AUC':>10}  test − logreg [95%]")
    for path in inputs:
        for r in study(path, args.seed):
            m = r["minus_logreg"]
            ci = f"{m['diff']:+.3f} [{m['lo']:+.3f}, {m['hi']:+.3f}]" if m["lo"] is not None else "–"
            print(f"{r['data'][:27]:<28}{r['lever']:<8}{r['val_auc']:>9.3f}{r['test_auc']:>10.3f}  {ci}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
