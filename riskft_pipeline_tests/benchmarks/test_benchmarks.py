"""Every benchmark script runs in its tiniest mode (``--smoke``) and ends with a parseable ratio line and a JSON record.
Nothing here asserts a speed: timings belong in benchmarks/RESULTS.md, not in a test."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import bench_training
import benchlib  # on sys.path via this folder's conftest
import pytest

BENCH_DIR = benchlib.BENCH_DIR

# script, record name, extra flags (one thread: steady on a busy machine, and the smoke run measures nothing)
DATA_SCRIPTS = [("bench_prep.py", "prep", []), ("bench_orchestration.py", "orchestration", []),
                ("bench_mining.py", "mining", [])]
MODEL_SCRIPTS = [
    ("bench_generation.py", "generation", ["--threads", "1"]),
    ("bench_risk_scoring.py", "risk_scoring", ["--threads", "1"]),
    ("bench_label_scoring.py", "label_scoring", ["--threads", "1"]),
    ("bench_training.py", "training", ["--threads", "1", "--combined"]),
    ("bench_gpu_training.py", "gpu_training", ["--device", "cpu", "--threads", "1"]),
    ("bench_end_to_end.py", "end_to_end", ["--threads", "1"]),
]


def run_smoke(script: str, extra: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    return subprocess.run([sys.executable, str(BENCH_DIR / script), "--smoke", *extra], capture_output=True,
                          text=True, env=env, timeout=900, check=False)


def check_run(proc: subprocess.CompletedProcess, record: str, out_dir) -> dict:
    assert proc.returncode == 0, proc.stderr[-4000:]
    ratio = benchlib.parse_ratio(proc.stdout)
    assert ratio is not None, f"no ratio line at the end of:\n{proc.stdout[-2000:]}"
    assert ratio["value"] > 0
    entries = [json.loads(line) for line in (out_dir / f"{record}.jsonl").read_text().splitlines()]
    assert len(entries) == 1
    entry = entries[0]
    assert entry["mode"] == "smoke" and entry["ratio"]["value"] == pytest.approx(ratio["value"], rel=0.01, abs=0.006)
    assert {"date", "commit", "machine", "loadavg_start", "loadavg_end", "figures"} <= set(entry)
    return entry


@pytest.mark.parametrize("script,record,extra", DATA_SCRIPTS, ids=[s for s, _, _ in DATA_SCRIPTS])
def test_data_benchmark_smoke(script, record, extra, bench_out):
    entry = check_run(run_smoke(script, extra), record, bench_out)
    if record == "prep":
        assert entry["figures"]["agreement"] == 1.0, "the row-by-row reference must compute what the project does"
    if record == "mining":  # against PyDriller, SZZ blames what PyDriller blames, and every difference is explained
        figures = entry["figures"]
        assert figures["szz_source_only"] is False and figures["agreement_all_rows"]["unexplained"] == 0
        assert figures["new"]["stats"]["commit_graph"] == "written"


@pytest.mark.slow
@pytest.mark.parametrize("script,record,extra", MODEL_SCRIPTS, ids=[s for s, _, _ in MODEL_SCRIPTS])
def test_model_benchmark_smoke(script, record, extra, bench_out):
    entry = check_run(run_smoke(script, extra), record, bench_out)
    if record == "generation":
        rows = entry["figures"]["rows"]
        assert all(r[-1] == f"{entry['figures']['n_prompts']}/{entry['figures']['n_prompts']}" for r in rows[1:])
    if record == "label_scoring":  # packing the candidates must not change what is chosen
        figures = entry["figures"]
        assert figures["same_answers"] == figures["n"] and figures["max_logprob_diff"] < 1e-3
    if record == "end_to_end":
        assert all(r["success"] for r in entry["figures"]["results"].values())
    if record == "training":  # the curves: one point each in smoke mode, trained as the pipeline trains
        combined = [name for name in entry["figures"]["runs"] if name.startswith("project + ")]
        assert len(combined) == len(bench_training.COMBINED) and all(entry["figures"]["runs"][n]["tokens"] > 0 for n in combined)
        (point,) = entry["figures"]["curve"]
        assert point["examples"] == 4 and point["steps"] >= 1 and point["tokens"] > 0
        assert (bench_out / "training_scaling.png").stat().st_size > 0
        (seq,) = entry["figures"]["seq_curve"]  # the sequence-length curve: one short point in smoke mode
        assert seq["length"] == 128 and seq["steps"] == 1 and seq["tokens"] > 0 and seq["tokens_per_s"] > 0
        assert abs(seq["mean_tokens"] - 128) <= 8, "the examples are sized to the asked length"
        assert (bench_out / "training_seq_length.png").stat().st_size > 0


def test_ratio_line_round_trip():
    line = benchlib.Ratio(6.1, "examples/s, batched vs one at a time", 5).line()
    assert line == "ratio: 6.10x examples/s, batched vs one at a time (target >= 5x) met"
    parsed = benchlib.parse_ratio("table\n\n" + line + "\n")
    assert parsed["value"] == 6.1 and parsed["op"] == ">=" and parsed["verdict"] == "met"
    cost = benchlib.Ratio(1.5, "wall time (x core)", 1.2, higher_is_better=False)
    assert cost.line().endswith("(target <= 1.2x) missed")
    assert not benchlib.Ratio(0.5, "budget", 1.0, higher_is_better=False, valid=False).met
    assert benchlib.parse_ratio("no ratio here") is None
