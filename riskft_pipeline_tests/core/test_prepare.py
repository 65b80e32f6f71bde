"""The tasks' prepare functions: one signature, the recipe shaping risk splits and not ticket splits."""

from __future__ import annotations

from riskft_pipeline.core.config import load_recipe
from riskft_pipeline.core.prepare import prepare_changes, prepare_tickets
from riskft_pipeline.paths import configs_dir, embedded_data_dir


def test_risk_training_examples_follow_the_recipe(tmp_path):
    recipe = load_recipe(configs_dir() / "risk_tiny.yaml")
    small = recipe.model_copy(update={"train": recipe.train.model_copy(update={"max_train_examples": 20})})
    big = recipe.model_copy(update={"train": recipe.train.model_copy(update={"max_train_examples": 60})})
    a = prepare_changes(embedded_data_dir() / "changes.csv", tmp_path / "a", small)
    b = prepare_changes(embedded_data_dir() / "changes.csv", tmp_path / "b", big)
    assert a["examples"]["train"] == 20 and b["examples"]["train"] == 60
    assert a["examples"]["test"] == b["examples"]["test"]  # val/test always hold every change of their period


def test_ticket_splits_ignore_the_recipe_but_take_the_split_options(tmp_path):
    recipe = load_recipe(configs_dir() / "tickets_tiny.yaml")
    a = prepare_tickets(embedded_data_dir() / "tickets.csv", tmp_path / "a", recipe)
    b = prepare_tickets(embedded_data_dir() / "tickets.csv", tmp_path / "b", recipe, test_fraction=0.2)
    assert b["splits"]["test"] > a["splits"]["test"]
