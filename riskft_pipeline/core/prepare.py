"""The tasks' ``prepare`` (their :class:`~riskft_pipeline.core.tasks.TaskSpec`'s): raw file → validated rows +
quarantine → chat JSONL splits and ``summary.json``, with one signature ``(input_path, out_dir, recipe) -> summary``
for ``riskft tickets prepare``, ``riskft risk prepare``, ``riskft run`` and the risk study."""

from __future__ import annotations

from pathlib import Path

from riskft_pipeline.core.config import Recipe


def prepare_tickets(input_path: str | Path, out_dir: str | Path, recipe: Recipe, *, val_fraction: float = 0.1,
                    test_fraction: float = 0.1, seed: int = 13) -> dict:
    """Ticket export → clean rows + quarantine → grouped chat splits (the recipe does not change ticket splits; the
    split shares and seed are ``riskft tickets prepare``'s options)."""
    from riskft_pipeline.core.tickets.prepare import prepare

    return prepare(input_path, out_dir, val_fraction=val_fraction, test_fraction=test_fraction, seed=seed)


def prepare_changes(input_path: str | Path, out_dir: str | Path, recipe: Recipe) -> dict:
    """Change metrics → clean rows + quarantine → time-ordered chat splits sampled per the recipe."""
    from riskft_pipeline.core.risk.examples import prepare_risk, split_options

    return prepare_risk(input_path, out_dir, recipe.risk, **split_options(recipe))
