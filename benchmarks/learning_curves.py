"""Learning curves: training examples → held-out metric, from finished evaluation folders (one per training size,
same data, same seed), adapter alone and shipped predictor side by side with the best baseline of the same run.

    riskft risk study --input <csv> --out runs/risk_192 --max-train-examples 192     # one folder per size
    riskft train --recipe <recipe with max_train_examples N> --data <prepared> --out runs/tk_N/train
    riskft evaluate --adapter runs/tk_N/train --data <prepared> --out runs/tk_N
    python benchmarks/learning_curves.py runs/risk_* runs/tk_* --png benchmarks/figures/learning_curves.png

Prints one table per task (examples, training seconds, adapter alone, shipped, best baseline) and writes the figure.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import offline_env

from riskft_pipeline.core.report_summary import method_scores


def curve_point(run_dir: Path) -> dict:
    """One point from an evaluation folder's report.json and its adapter's metadata."""
    report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    meta_path = Path(report["adapter_dir"]) / "riskft_adapter.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}
    train = meta.get("train", {})
    scores = method_scores(report)
    shipped = report.get("shipped", "model")
    baselines = {m: v for m, v in scores.items() if m not in ("model", shipped, "zero_shot") and v is not None}
    best = max(baselines, key=baselines.get) if baselines else None
    return {
        "run": run_dir.name,
        "task": meta.get("task") or ("tickets" if "mean_field_accuracy" in report else "risk"),
        "metric": report["primary_metric"]["name"],
        "examples": train.get("n_train_examples") or report.get("n_train_examples"),
        "train_s": train.get("train_runtime_s"),
        "model": scores.get("model"),
        "shipped": scores.get(shipped),
        "best_baseline": best,
        "best_baseline_value": baselines.get(best) if best else None,
    }


def plot(points: list[dict], png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_task = defaultdict(list)
    for p in points:
        by_task[(p["task"], p["metric"])].append(p)
    fig, axes = plt.subplots(1, len(by_task), figsize=(5.2 * len(by_task), 4.0), squeeze=False)
    for ax, ((task, metric), pts) in zip(axes[0], sorted(by_task.items())):
        pts = sorted(pts, key=lambda p: p["examples"])
        x = [p["examples"] for p in pts]
        ax.plot(x, [p["model"] for p in pts], "o-", label="adapter alone")
        ax.plot(x, [p["shipped"] for p in pts], "s-", label="shipped (fused)")
        ax.plot(x, [p["best_baseline_value"] for p in pts], "k--", label=f"best baseline ({pts[-1]['best_baseline']})")
        ax.set_xscale("log", base=2)
        ax.set_xticks(x, [str(v) for v in x])
        ax.set_xlabel("training examples")
        ax.set_ylabel(metric)
        ax.set_title(task)
        ax.legend(fontsize=8)
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=110)
    plt.close(fig)


def fmt(v) -> str:
    return "–" if v is None else f"{v:.3f}"


def main(argv=None) -> int:
    offline_env()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="evaluation folders (each with report.json)")
    parser.add_argument("--png", type=Path, default=None, help="write the curves here")
    args = parser.parse_args(argv)
    points = [curve_point(r) for r in args.runs if (r / "report.json").is_file()]
    if not points:
        parser.error("no report.json in the given folders")
    print(f"{'task':<8}{'run':<22}{'examples':>9}{'train s':>9}{'adapter':>9}{'shipped':>9}  best baseline")
    for p in sorted(points, key=lambda p: (p["task"], p["run"].split("_")[0], p["examples"] or 0)):
        print(f"{p['task']:<8}{p['run'][:21]:<22}{p['examples'] or '?':>9}{p['train_s'] or 0:>9.0f}"
              f"{fmt(p['model']):>9}{fmt(p['shipped']):>9}  {p['best_baseline']} {fmt(p['best_baseline_value'])}")
    if args.png:
        plot(points, args.png)
        print(f"figure: {args.png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
