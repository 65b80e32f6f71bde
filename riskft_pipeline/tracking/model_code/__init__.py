"""MLflow "models from code" entry points, one file per task: MLflow copies the file into the logged model and runs
it at load time, so a registered model holds no pickle."""
