"""How the change-risk fusion weight is chosen on validation, compared on finished evaluation folders.

    riskft risk study --input <csv> --out runs/flask          # writes val_scores.jsonl and predictions.jsonl
    python benchmarks/fusion_choice.py runs/flask runs/openstack

Each folder's ``val_scores.jsonl`` (validation: adapter score, logreg score, outcome) chooses a weight by each rule;
the test split (``predictions.jsonl``) is only scored with it. Rules:

- ``grid``: the arg-max of validation AUC over w = 0, .05, …, 1 (ties: the smaller w): the rule before stacking;
- ``stack``: the adapter's share of a stacked logistic regression's slopes (the shipped rule,
  :func:`riskft_pipeline.core.fusion.choose_score_fusion`);
- ``logreg`` (w = 0) and ``adapter`` (w = 1) for reference.

Prints one row per folder and rule: weight, validation AUC, test AUC, and test AUC minus logreg with its 95% paired
bootstrap interval. The test AUC is what a rule would have shipped: read it across folders, not to pick a rule per
folder (that would be choosing on test).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import table

from riskft_pipeline.core import fusion


def _read(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return (np.array([r["label"] for r in rows], dtype=int), np.array([r["adapter_score"] for r in rows]),
            np.array([r["score_logreg"] for r in rows]))


def grid_weight(y: np.ndarray, s_model: np.ndarray, s_tab: np.ndarray, ref: fusion.ScoreFusion) -> float:
    """The earlier rule: best validation AUC on the grid, ties to the smaller weight."""
    best_w, best_auc = 0.0, -1.0
    for w in fusion.WEIGHT_GRID:
        auc = fusion._auc(y, fusion.ScoreFusion(w, ref.mean_model, ref.sd_model, ref.mean_tab, ref.sd_tab, 0.0)(
            s_model, s_tab))
        if auc > best_auc + 1e-12:
            best_w, best_auc = w, auc
    return best_w


def _num(v) -> str:
    return "–" if v is None else f"{v:+.3f}"


def compare(run_dir: Path, seed: int = 0) -> list[list]:
    yv, av, tv = _read(run_dir / "val_scores.jsonl")
    yt, at, tt = _read(run_dir / "predictions.jsonl")
    stacked = fusion.choose_score_fusion(yv, av, tv)
    rules = {"grid": grid_weight(yv, av, tv, stacked), "stack": stacked.weight, "logreg": 0.0, "adapter": 1.0}
    rows = []
    for name, w in rules.items():
        f = fusion.ScoreFusion(w, stacked.mean_model, stacked.sd_model, stacked.mean_tab, stacked.sd_tab, 0.0)
        margin = fusion.paired_bootstrap(fusion.auc_diff(yt, f(at, tt), tt), len(yt), seed=seed)
        interval = f"{margin['diff']:+.3f} [{_num(margin['lo'])}, {_num(margin['hi'])}]"
        rows.append([run_dir.name, name, f"{w:.2f}", f"{fusion._auc(yv, f(av, tv)):.3f}",
                     f"{fusion._auc(yt, f(at, tt)):.3f}", interval])
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="evaluation folders with val_scores.jsonl")
    args = parser.parse_args(argv)
    missing = [str(r) for r in args.runs if not (r / "val_scores.jsonl").is_file()]
    if missing:
        print(f"no val_scores.jsonl in: {', '.join(missing)} (evaluate with this version first)", file=sys.stderr)
        return 2
    rows = [row for run in args.runs for row in compare(run)]
    print(table(["run", "rule", "w", "val AUC", "test AUC", "test − logreg [95%]"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
