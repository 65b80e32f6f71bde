"""Training, inference and evaluation on torch/transformers/peft/trl (no Dagster, no MLflow)."""
