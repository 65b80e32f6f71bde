"""The registered model as an MLflow pyfunc: base model + LoRA adapter in, a DataFrame of parsed answers out.

Only the adapter is logged (a few MB). The base weights are resolved at load time from the identity the adapter
records (``riskft_adapter.json``): the offline default from the local cache (converted once), or a local / cached HF
folder; never from the network. ``mlflow.pyfunc.load_model("models:/ticket-extractor@champion")`` therefore works on
any machine with this package installed and the base available.

The task-specific part is small: a subclass turns the input frame into chat messages and the model's outputs into
columns (:meth:`_AdapterModel.predict_frame`); a models-from-code file in ``model_code/`` names it for MLflow.
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
from riskft_pipeline.core.tickets.prompts import FIELDS

INPUT_COLUMNS = ("text", "short_description", "content", "customer", "agent")
_REQUIREMENTS = ("mlflow", "torch", "transformers", "peft", "accelerate", "safetensors", "pandas", "numpy")


class _AdapterModel(mlflow.pyfunc.PythonModel):
    """Loads base + adapter once (``load_context``); ``model_config`` carries ``batch_size`` / ``max_new_tokens``
    (the recipe's eval section at registration; override with ``load_model(..., model_config=...)``)."""

    def load_context(self, context) -> None:
        from riskft_pipeline.training.infer import load_for_inference

        config = dict(context.model_config or {})
        self.batch_size = int(config.get("batch_size", 16))
        self.max_new_tokens = int(config.get("max_new_tokens", 96))
        self.model, self.tokenizer = load_for_inference(Path(context.artifacts["adapter"]))

    # no type hint on model_input: MLflow would try (and fail) to derive a schema from it; the signature says it
    def predict(self, context, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        return self.predict_frame(frame.reset_index(drop=True), dict(params or {}))

    def predict_frame(self, frame: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
        raise NotImplementedError


class TicketExtractorModel(_AdapterModel):
    """Ticket text → the six fields (null where unknown) + ``valid_json``.

    Input columns: ``text``, or ``short_description`` + ``content`` (as in the export; other columns are ignored
    except ``customer``/``agent``, whose names are redacted from the text too). Text is PII-redacted and escaped
    exactly as at training time before it reaches the model.
    """

    def predict_frame(self, frame: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
        from riskft_pipeline.core.tickets.prompts import build_messages, parse_answer
        from riskft_pipeline.training.infer import generate

        texts = redacted_texts(frame)
        outputs = generate(self.model, self.tokenizer, [build_messages(t) for t in texts],
                           batch_size=self.batch_size, max_new_tokens=self.max_new_tokens, progress=False)
        parsed = [parse_answer(o) for o in outputs]
        result = pd.DataFrame([p or dict.fromkeys(FIELDS) for p in parsed], columns=list(FIELDS), dtype=object)
        result["valid_json"] = [p is not None for p in parsed]
        return result


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
    """Change metrics → ``risk`` (most probable tier), ``score`` = P(high) + 0.5·P(medium) (the ranking score, from
    one forward pass), ``p_low``/``p_medium``/``p_high``; with ``params={"justify": True}`` also a generated
    ``justification``.

    Input columns: the k change metrics (:data:`riskft_pipeline.core.risk.features.FEATURES`), optionally
    ``message`` and ``diff_summary``. The prompt compares each change with the training period, so the statistics
    and tier definition of the training data travel with the model (artifact ``risk_context``).
    """

    def load_context(self, context) -> None:
        from riskft_pipeline.core.risk.examples import load_context as load_risk_context

        super().load_context(context)
        self.score_batch_size = int((context.model_config or {}).get("score_batch_size", 32))
        self.stats, self.tiers = load_risk_context(context.artifacts["risk_context"])

    def predict_frame(self, frame: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
        from riskft_pipeline.core.risk.prompts import ANSWER_PREFIX, TIERS, build_messages, parse_answer
        from riskft_pipeline.training.infer import choice_probabilities, generate

        messages = [build_messages(row, self.stats) for _, row in checked_changes(frame).iterrows()]
        probs = choice_probabilities(self.model, self.tokenizer, messages, TIERS, answer_prefix=ANSWER_PREFIX,
                                     batch_size=self.score_batch_size)
        result = pd.DataFrame(probs, columns=[f"p_{t}" for t in TIERS])
        result.insert(0, "risk", [TIERS[i] for i in probs.argmax(axis=1)] if len(probs) else [])
        result.insert(1, "score", probs[:, 2] + 0.5 * probs[:, 1])
        if params.get("justify"):
            texts = generate(self.model, self.tokenizer, messages, batch_size=self.batch_size,
                             max_new_tokens=self.max_new_tokens, progress=False)
            answers = [parse_answer(t) for t in texts]
            result["justification"] = [a["justification"] if a else None for a in answers]
        return result


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
_TASKS = ("tickets", "risk")


def model_code_path(task: str) -> Path:
    """The models-from-code file for ``task``: logged instead of a pickled instance, so loading runs our code and
    unpickles nothing."""
    if task not in _TASKS:
        raise InputError(f"no pyfunc model for task {task!r} yet (known: {', '.join(_TASKS)})")
    return _MODEL_CODE / f"{task}.py"


def model_signature(task: str) -> ModelSignature:
    """Tickets — input: optional columns (either text form; names to redact); output: the fields + ``valid_json``.
    Risk — input checked by :func:`checked_changes` (metrics arrive as ints or floats); a ``justify`` param."""
    if task == "risk":
        outputs = Schema([ColSpec("string", "risk"), ColSpec("double", "score"),
                          *(ColSpec("double", f"p_{t}") for t in ("low", "medium", "high")),
                          ColSpec("string", "justification", required=False)])
        return ModelSignature(inputs=None, outputs=outputs, params=ParamSchema([ParamSpec("justify", "boolean",
                                                                                            False)]))
    inputs = Schema([ColSpec("string", name, required=False) for name in INPUT_COLUMNS])
    outputs = Schema([*(ColSpec("string", f, required=False) for f in FIELDS), ColSpec("boolean", "valid_json")])
    return ModelSignature(inputs=inputs, outputs=outputs)


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
