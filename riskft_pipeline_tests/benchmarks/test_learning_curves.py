"""Learning-curve points are read from evaluation folders: examples from the adapter, metrics from the report."""

from __future__ import annotations

import json

import learning_curves  # on sys.path via this folder's conftest


def _run(tmp_path, name, n, model, fused, logreg):
    adapter = tmp_path / name / "train" / "adapter"
    adapter.mkdir(parents=True)
    (adapter / "riskft_adapter.json").write_text(json.dumps(
        {"task": "risk", "train": {"n_train_examples": n, "train_runtime_s": n * 1.3}}))
    report = {"shipped": "fused", "primary_metric": {"name": "test_auc", "value": fused}, "adapter_dir": str(adapter),
              "methods": {"model": {"auc": model}, "fused": {"auc": fused}, "logreg": {"auc": logreg},
                          "lapredict": {"auc": logreg - 0.02}}}
    (tmp_path / name / "report.json").write_text(json.dumps(report))
    return tmp_path / name


def test_points_and_figure(tmp_path, capsys):
    runs = [_run(tmp_path, "r_192", 192, 0.64, 0.70, 0.71), _run(tmp_path, "r_768", 768, 0.69, 0.72, 0.71)]
    p = learning_curves.curve_point(runs[1])
    assert p == {"run": "r_768", "task": "risk", "metric": "test_auc", "examples": 768, "train_s": 768 * 1.3,
                 "model": 0.69, "shipped": 0.72, "best_baseline": "logreg", "best_baseline_value": 0.71}
    png = tmp_path / "curves.png"
    assert learning_curves.main([str(r) for r in runs] + ["--png", str(png)]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG"
    out = capsys.readouterr().out.splitlines()
    assert out[1].split()[:2] == ["risk", "r_192"] and out[2].split()[:2] == ["risk", "r_768"]
