"""``benchmarks/software_system_choice.py`` on a tiny trained adapter: each rule is read from one scoring pass, the
shipped (grounded) pick is always one of its candidates, and the per-ticket file says what was chosen from what."""

from __future__ import annotations

import sys
from pathlib import Path

from riskft_pipeline.core.files import read_jsonl
from riskft_pipeline.core.metrics import normalise_text
from riskft_pipeline.core.tickets.prompts import parse_answer, user_text
from riskft_pipeline.training.evaluate import system_names
from riskft_pipeline.training.sft import read_split

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import software_system_choice


def test_rules_come_from_one_scoring_pass_and_pick_among_their_candidates(trained, chat_data, tmp_path, capsys):
    out = tmp_path / "systems.jsonl"
    assert software_system_choice.main(["--adapter", str(trained["out"] / "adapter"), "--data", str(chat_data),
                                        "--out", str(out)]) == 0
    table = capsys.readouterr().out
    rows = read_jsonl(out)
    names = system_names(read_split(chat_data / "train.jsonl"))
    by_split = {s: read_split(chat_data / f"{s}.jsonl") for s in ("val", "test")}
    assert [r["split"] for r in rows] == ["val"] * len(by_split["val"]) + ["test"] * len(by_split["test"])
    for r, row in zip(rows, by_split["val"] + by_split["test"]):
        text = user_text(row["messages"][:-1])
        assert r["gold"] == parse_answer(row["messages"][-1]["content"])["software_system"]
        open_set = names.candidates(text, r["generated"], grounded=False)
        grounded = names.candidates(text, r["generated"])
        assert set(grounded) <= set(open_set)
        assert r["grounded"] in grounded and r["open"] in open_set
        if len(open_set) > 1:  # the open set was scored once; each rule's pick is its best-scored candidate
            assert list(r["scores"]) == open_set
            assert r["open"] == max(open_set, key=lambda v: r["scores"][v])
            if len(grounded) > 1:
                assert r["grounded"] == max(grounded, key=lambda v: r["scores"][v])
    for split in ("val", "test"):
        n = len(by_split[split])
        mine = [r for r in rows if r["split"] == split]
        for rule in ("generated", "open", "grounded"):
            exact = sum(normalise_text(r[rule]) == normalise_text(r["gold"]) for r in mine) / n
            assert f"{rule}" in table and f"{exact:.3f}" in table
