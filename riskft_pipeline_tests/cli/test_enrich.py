"""``riskft enrich <kind>``: one subcommand per task, its default model the task's champion, its extra flags the
task's enrichment options."""

from __future__ import annotations

from riskft_pipeline.cli import build_parser, main
from riskft_pipeline.core.tasks import TASKS


def test_one_subcommand_per_task_with_its_champion_and_options():
    parser = build_parser()
    for spec in TASKS.values():
        args = parser.parse_args(["enrich", spec.enrich_kind, "--input", "a.csv", "--out", "b.csv"])
        assert args.model == spec.champion_uri
        assert hasattr(args, "no_justify") is ("justify" in spec.enrich_options)


def test_a_missing_input_is_one_line_and_exit_2(tmp_path, capsys):
    code = main(["enrich", "changes", "--input", str(tmp_path / "none.csv"), "--out", str(tmp_path / "o.csv"),
                 "--model", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "none.csv" in err


def test_enrich_changes_writes_the_batch_summary_beside_the_csv_and_names_it(tmp_path, capsys, monkeypatch):
    """The real file path (reading, quarantine, writing, the summary, the CLI's output) with the model's predictions
    stubbed: no base model is loaded."""
    import json

    import pandas as pd

    from riskft_pipeline import enrich, paths

    src = pd.read_csv(paths.embedded_data_dir() / "changes.csv", dtype=str).iloc[:4].drop(columns=["bug"])
    src.iloc[2, src.columns.get_loc("la")] = "-1"  # quarantined: negative_metric
    src.to_csv(tmp_path / "new.csv", index=False)

    class Loaded:
        def provenance(self):
            return {"model_name": "change-risk", "model_version": "7", "model_uri": "models:/change-risk/7"}

    def predict(loaded, typed, **_):
        n = len(typed)
        return pd.DataFrame({"risk_tier": ["high", "low", "medium"][:n], "risk_score": [0.9, 0.1, 0.5][:n],
                             "risk_percentile": [97.0, 10.0, 55.0][:n], "risk_zone": ["top5", "rest", "rest"][:n],
                             "justification": ["large churn", "small", "medium"][:n]})

    monkeypatch.setattr(enrich, "load_model", lambda *a, **k: Loaded())
    monkeypatch.setattr(enrich, "predict_changes", predict)
    out = tmp_path / "risk.csv"
    code = main(["enrich", "changes", "--input", str(tmp_path / "new.csv"), "--out", str(out), "--quiet"])
    captured = capsys.readouterr()
    assert code == 0
    report = tmp_path / "risk.summary.md"
    assert json.loads(captured.out)["summary_md"] == str(report)
    assert f"batch summary: {report}" in captured.err
    text = report.read_text(encoding="utf-8")
    assert "**3** changes enriched, **1** quarantined (negative_metric: 1)." in text
    assert "| top5 | 1 | 0 | 0 | 1 | 33% |" in text and "| rest | 0 | 1 | 1 | 2 | 67% |" in text
    first_id = src["_id"].iloc[0]
    assert f"| 1 | {first_id} |" in text or f"| 1 | `{first_id[:12]}` |" in text, "the riskiest change comes first"
    assert "Model: `models:/change-risk/7`" in text
