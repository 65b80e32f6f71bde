"""Change risk, pure core: change metrics (k-feature CSV or mined from git), validation + quarantine, time split,
training-period context, tiers, prompts, mechanical justifications and their faithfulness checker, baselines.

No torch, transformers, dagster or mlflow here: everything in this package runs and is tested on plain pandas/sklearn.
"""
