"""The risk-splits check: sound on the embedded data, and catches each planted problem."""

import pandas as pd

from riskft_pipeline import paths
from riskft_pipeline.core.files import read_jsonl, write_jsonl
from riskft_pipeline.core.risk.checks import split_problems
from riskft_pipeline.core.risk.examples import prepare_risk


def test_sound_folder_and_planted_problems(tmp_path):
    out = tmp_path / "prep"
    prepare_risk(paths.embedded_data_dir() / "changes.csv", out, max_train_examples=40)
    assert split_problems(out) == []

    test_rows = read_jsonl(out / "test.jsonl")
    write_jsonl(out / "val.jsonl", read_jsonl(out / "val.jsonl") + test_rows[:1])
    clean = pd.read_parquet(out / "clean.parquet")
    clean.loc[clean["split"] == "train", "date"] = clean["date"].max() + 1
    clean["__"] = clean["bug"]
    clean.to_parquet(out / "clean.parquet", index=False)

    problems = split_problems(out)
    assert any("both val and test" in p for p in problems)
    assert any("label-copy" in p for p in problems)
    assert any("latest train change is newer" in p for p in problems)
