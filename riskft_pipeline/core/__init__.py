"""Pure logic: pandas/numpy/sklearn/pydantic only. Never import dagster, mlflow, torch or transformers here."""
