"""Inputs the model benchmarks share: the embedded defaults prepared the way the pipeline prepares them, and the
offline base model. Everything is built in a temporary folder; the converted base model is cached in
``$RISKFT_HOME/models`` (default ``.riskft/``) like the pipeline's own runs, so only the first run pays ~20 s."""

from __future__ import annotations

from pathlib import Path


def ticket_data(out_dir: Path) -> Path:
    """``data/tickets.csv`` through the ticket chain's ``prepare`` (train/val/test chat JSONL)."""
    from riskft_pipeline import paths
    from riskft_pipeline.core.tickets.prepare import prepare

    prepare(paths.embedded_data_dir() / "tickets.csv", out_dir)
    return out_dir


def risk_data(out_dir: Path) -> Path:
    """``data/changes.csv`` through the change-risk chain's ``prepare_risk`` (time-ordered chat JSONL splits)."""
    from riskft_pipeline import paths
    from riskft_pipeline.core.risk.examples import prepare_risk

    prepare_risk(paths.embedded_data_dir() / "changes.csv", out_dir)
    return out_dir


def prompts(data_dir: Path, split: str, n: int) -> list[list[dict]]:
    """The first ``n`` conversations of a split without their answer (what the model is asked)."""
    from riskft_pipeline.core.files import read_jsonl

    rows = read_jsonl(data_dir / f"{split}.jsonl")[:n]
    if len(rows) < n:
        raise SystemExit(f"{split}.jsonl has {len(rows)} rows, fewer than the {n} asked for")
    return [[m for m in r["messages"] if m["role"] != "assistant"] for r in rows]


def answers(data_dir: Path, split: str, n: int) -> list[str]:
    from riskft_pipeline.core.files import read_jsonl

    return [r["messages"][-1]["content"] for r in read_jsonl(data_dir / f"{split}.jsonl")[:n]]


def base_for_inference():
    """(model, tokenizer) of the offline base, as ``load_for_inference`` prepares it (eval, left padding)."""
    from riskft_pipeline.training.infer import load_for_inference

    return load_for_inference(None)
