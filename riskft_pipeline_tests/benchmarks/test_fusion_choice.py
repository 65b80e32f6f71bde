"""The fusion-rule comparison reads evaluation folders: validation chooses, test only scores."""

from __future__ import annotations

import json

import fusion_choice  # on sys.path via this folder's conftest
import numpy as np

from riskft_pipeline.core.fusion import choose_score_fusion


def _write(path, y, adapter, logreg):
    path.write_text("".join(json.dumps({"label": int(a), "adapter_score": float(b), "score_logreg": float(c)}) + "\n"
                            for a, b, c in zip(y, adapter, logreg)))


def _folder(tmp_path, seed):
    rng = np.random.default_rng(seed)
    run = tmp_path / f"run{seed}"
    run.mkdir()
    for name, n in (("val_scores.jsonl", 300), ("predictions.jsonl", 500)):
        y = rng.integers(0, 2, n)
        _write(run / name, y, y + rng.normal(0, 1.2, n), 1 / (1 + np.exp(-(y + rng.normal(0, 1.0, n)))))
    return run


def test_rules_are_chosen_on_validation_and_scored_on_test(tmp_path, capsys):
    run = _folder(tmp_path, 1)
    rows = {r[1]: r for r in fusion_choice.compare(run)}
    assert set(rows) == {"grid", "stack", "logreg", "adapter"}
    val = [json.loads(line) for line in (run / "val_scores.jsonl").read_text().splitlines()]
    stacked = choose_score_fusion([r["label"] for r in val], np.array([r["adapter_score"] for r in val]),
                                  np.array([r["score_logreg"] for r in val]))
    assert rows["stack"][2] == f"{stacked.weight:.2f}" and rows["logreg"][5].startswith("+0.000")
    # test labels flipped: every weight stays (chosen on validation), the test AUCs change
    test = run / "predictions.jsonl"
    rows_t = [json.loads(line) for line in test.read_text().splitlines()]
    _write(test, [1 - r["label"] for r in rows_t], [r["adapter_score"] for r in rows_t],
           [r["score_logreg"] for r in rows_t])
    flipped = {r[1]: r for r in fusion_choice.compare(run)}
    assert all(flipped[k][2] == rows[k][2] for k in rows) and flipped["stack"][4] != rows["stack"][4]
    assert fusion_choice.main([str(run), str(_folder(tmp_path, 2))]) == 0
    assert "stack" in capsys.readouterr().out
    assert fusion_choice.main([str(tmp_path / "missing")]) == 2
