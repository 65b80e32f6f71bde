"""The registered model as an MLflow pyfunc: the shipped predictor (LoRA adapter + its tabular half) in, the same
DataFrame that ``riskft enrich`` writes out.

Logged: the adapter (a few MB) and, as artifacts beside it, ``predictor/`` (``predictor.json``; for tickets also the
training split ``train.jsonl`` that TF-IDF + LR is refitted from) and, for change risk, ``risk_context/``. The base
weights are resolved at load time from the identity the adapter records (``riskft_adapter.json``): the offline default
from the local cache (converted once), or a local / cached HF folder; never from the network.
``mlflow.pyfunc.load_model("models:/ticket-extractor@champion")`` therefore works on any machine with this package
installed and the base available.

Prediction is enrichment's, not a copy of it: :meth:`load_context` builds an :class:`riskft_pipeline.enrich.LoadedModel`
from the artifacts and :meth:`predict` calls :func:`riskft_pipeline.enrich.predict_ticket_texts` /
:func:`riskft_pipeline.enrich.predict_changes` (columns: see :mod:`riskft_pipeline.enrich`). A model registered
without a predictor (an adapter-only version) answers with the adapter alone, as enrichment does. A models-from-code
file in ``model_code/`` names the class for MLflow.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import numpy as np
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema

from riskft_pipeline.core.errors import InputError
from riskft_pipeline.core.tasks import task_spec

INPUT_COLUMNS = ("text", "short_description", "content", "customer", "agent")
_REQUIREMENTS = ("mlflow", "torch", "transformers", "peft", "accelerate", "safetensors", "pandas", "numpy")


class _AdapterModel(mlflow.pyfunc.PythonModel):
    """Loads base + adapter and the predictor files once (``load_context``); ``model_config`` may override the
    recipe's eval ``batch_size`` / ``max_new_tokens`` (registration logs them; ``load_model(..., model_config=...)``)."""

    def load_context(self, context) -> None:
        from riskft_pipeline.enrich import load_adapter

        artifacts = dict(context.artifacts or {})
        predictor = Path(artifacts["predictor"]) if artifacts.get("predictor") else None
        context_dir = Path(artifacts["risk_context"]) if artifacts.get("risk_context") else None
        config = {k: v for k, v in dict(context.model_config or {}).items() if k in ("batch_size", "max_new_tokens")}
        self.loaded = load_adapter(Path(artifacts["adapter"]), name="pyfunc", version="", uri="pyfunc",
                                   context_dir=context_dir, predictor_dir=predictor, settings=config)

    # no type hint on model_input: MLflow would try (and fail) to derive a schema from it; the signature says it
    def predict(self, context, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        return self.predict_frame(frame.reset_index(drop=True), dict(params or {}))

    def predict_frame(self, frame: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
        raise NotImplementedError


class TicketExtractorModel(_AdapterModel):
    """Ticket text → :func:`riskft_pipeline.enrich.predict_ticket_texts`: ``pred_<field>``, ``conf_<field>``,
    ``valid_json`` and, with the shipped predictor, ``needs_review`` / ``review_fields``.

    Input columns: ``text``, or ``short_description`` + ``content`` (as in the export; other columns are ignored
    except ``customer``/``agent``, whose names are redacted from the text too). Text is PII-redacted and escaped
    exactly as at training time before it reaches the model.
    """

    def predict_frame(self, frame: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
        from riskft_pipeline.enrich import predict_ticket_texts

        return predict_ticket_texts(self.loaded, redacted_texts(frame), progress=False)


def ticket_texts(frame: pd.DataFrame) -> list[str]:
    """The model input per row: ``text``, else ``short_description`` + ``content`` joined as at training time."""
    from riskft_pipeline.core.tickets.prompts import ticket_text

    if "text" in frame.columns:
        return ["" if not isinstance(t, str) else t for t in frame["text"]]
    if not {"short_description", "content"} & set(frame.columns):
        raise InputError(f"input needs a 'text' column or 'short_description' + 'content' (got {list(frame.columns)})")
    short = frame["short_description"] if "short_description" in frame.columns else [None] * len(frame)
    content = frame["content"] if "content" in frame.columns else [None] * len(frame)
    return [ticket_text(s, c) for s, c in zip(short, content, strict=True)]


def redacted_texts(frame: pd.DataFrame) -> list[str]:
    from riskft_pipeline.core.tickets.redact import Redactor, default_redactor

    has_names = any(c in frame.columns for c in ("customer", "agent"))
    redactor = Redactor.from_frame(frame) if has_names else default_redactor()
    redacted, _ = redactor.redact_series(pd.Series(ticket_texts(frame), dtype=object))
    return list(redacted)


class ChangeRiskModel(_AdapterModel):
    """Change metrics → :func:`riskft_pipeline.enrich.predict_changes`: ``risk_tier``, ``risk_score`` (the shipped,
    fused score), ``p_low``/``p_medium``/``p_high`` and ``adapter_score``; with ``params={"justify": True}`` also a
    ``justification`` (the model's when faithful, else the rule's: ``justification_source``) and
    ``justification_faithful``; with a predictor that carries review zones, ``risk_percentile`` and ``risk_zone``.

    Input columns: the k change metrics (:data:`riskft_pipeline.core.risk.features.FEATURES`), optionally
    ``message`` and ``diff_summary``. The prompt compares each change with the training period, so the statistics
    and tier definition of the training data travel with the model (artifact ``risk_context``).
    """

    def predict_frame(self, frame: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
        from riskft_pipeline.enrich import predict_changes

        return predict_changes(self.loaded, checked_changes(frame), justify=bool(params.get("justify")),
                               progress=False)


def checked_changes(frame: pd.DataFrame) -> pd.DataFrame:
    """The metric columns as numbers; a missing column or a non-numeric value is an input error naming it (rows
    that cannot be scored belong in the caller's quarantine, not in a silent NaN)."""
    from riskft_pipeline.core.risk.features import FEATURES

    missing = [f for f in FEATURES if f not in frame.columns]
    if missing:
        raise InputError(f"input lacks the change metric column(s) {', '.join(missing)}")
    numbers = frame[list(FEATURES)].apply(pd.to_numeric, errors="coerce").astype(float)
    bad = ~np.isfinite(numbers.to_numpy()).all(axis=1)
    if bad.any():
        raise InputError(f"change metrics must be finite numbers (bad rows: {np.flatnonzero(bad)[:5].tolist()})")
    return frame.assign(**{f: numbers[f] for f in FEATURES})


_MODEL_CODE = Path(__file__).resolve().parent / "model_code"


def model_code_path(task: str) -> Path:
    """The models-from-code file for ``task`` (its spec's ``pyfunc_code``): logged instead of a pickled instance, so
    loading runs our code and unpickles nothing."""
    path = _MODEL_CODE / task_spec(task).pyfunc_code
    if not path.is_file():
        raise InputError(f"no pyfunc model for task {task!r} yet ({path.name} is not in {_MODEL_CODE})")
    return path


def model_signature(task: str) -> ModelSignature:
    """The registered model's signature: the task spec's ``pyfunc_signature``."""
    return task_spec(task).pyfunc_signature()


def ticket_signature() -> ModelSignature:
    """Input: optional columns (either text form; names to redact); output: enrichment's ticket columns."""
    from riskft_pipeline.core.tickets.prompts import FIELDS

    inputs = Schema([ColSpec("string", name, required=False) for name in INPUT_COLUMNS])
    outputs = Schema([*(ColSpec("string", f"pred_{f}", required=False) for f in FIELDS),
                      *(ColSpec("double", f"conf_{f}", required=False) for f in FIELDS),
                      ColSpec("boolean", "valid_json"), ColSpec("boolean", "needs_review", required=False),
                      ColSpec("string", "review_fields", required=False)])
    return ModelSignature(inputs=inputs, outputs=outputs)


def risk_signature() -> ModelSignature:
    """Input checked by :func:`checked_changes` (metrics arrive as ints or floats); a ``justify`` param."""
    outputs = Schema([ColSpec("string", "risk_tier"), ColSpec("double", "risk_score"),
                      *(ColSpec("double", f"p_{t}") for t in ("low", "medium", "high")),
                      ColSpec("double", "adapter_score"),
                      ColSpec("double", "risk_percentile", required=False),
                      ColSpec("string", "risk_zone", required=False),
                      ColSpec("string", "justification", required=False),
                      ColSpec("string", "justification_source", required=False),
                      ColSpec("boolean", "justification_faithful", required=False)])
    return ModelSignature(inputs=None, outputs=outputs, params=ParamSchema([ParamSpec("justify", "boolean", False)]))


def pip_requirements() -> list[str]:
    """Pinned to this environment, given explicitly so MLflow does not load the model to infer them. The
    ``riskft_pipeline`` package itself must be installed where the model is loaded (it is not on an index)."""
    pins = []
    for name in _REQUIREMENTS:
        try:
            pins.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return pins
