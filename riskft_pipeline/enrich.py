"""Enrichment of new work, CSV in → CSV out: what ``riskft enrich``, the ``enriched_*`` assets and the registered
pyfunc models (:mod:`riskft_pipeline.tracking.pyfunc`, which call :func:`predict_ticket_texts` and
:func:`predict_changes`) run.

A registered model version is the **shipped predictor**: the LoRA adapter plus the tabular half it is fused with
(artifact ``predictor/``: ``predictor.json``, and for tickets the training split ``train.jsonl``), exactly what its
evaluation measured and what the champion gate compared.

- **Tickets**: categorical fields are *chosen* by the adapter among the training labels (a distribution per field),
  fused per field with TF-IDF + logistic regression (refitted deterministically from the shipped ``train.jsonl``)
  using the weights chosen on validation; free-text fields are generated. Each row gets ``pred_<field>`` (six
  fields), ``conf_<field>`` (categorical: the fused probability of the chosen label; free text: the probability of
  the generated continuation; 4 decimals), ``valid_json`` (always true: the answer is assembled by code),
  ``needs_review`` (a categorical field's fused probability is below its validation threshold for 95% precision,
  or the field has none) and ``review_fields`` (those fields, comma-separated).
- **Changes**: ``p_low``/``p_medium``/``p_high`` from one forward pass (fp32, as in evaluation), ``adapter_score`` =
  P(high) + 0.5·P(medium), ``risk_score`` = the shipped score (the adapter score fused with logistic regression on
  the 14 metrics), ``risk_percentile`` (riskier than this percent of the validation period's changes) and
  ``risk_zone`` (``top5`` / ``top10`` / ``top20`` / ``rest``: the riskiest 5/10/20% by the validation period's
  cut points, :mod:`~riskft_pipeline.core.risk.zones`), and a ``justification`` written for the row's tier:
  the model's own when every claim in it is true of the change, else the rule-based one for the same tier
  (``justification_source`` says which; ``justification_faithful`` is the checker's verdict on what is shipped).

  **The tier** (``risk_tier``) is the band of ``risk_score`` under the model's cut points: low below
  ``low_below``, high from ``high_from``, medium between, where the cuts are the score quantiles fitted on the
  validation split by the evaluation (``predictor.json``'s ``tier_cuts``). An adapter-only model has
  ``risk_score = adapter_score`` and its cuts in ``tier_cuts.json``; without any cuts it is the most probable tier.

A **bare adapter folder** (``--model path/to/adapter``) with no ``../predictor/predictor.json`` beside it keeps the
adapter-only path: tickets are answered by free generation, ``conf_<field>`` is the product of the value's token
probabilities, there is no ``needs_review``; changes are scored by the adapter alone as above (no zones). A folder
laid out like a downloaded registered model (``adapter/``, ``predictor/``, ``risk_context/`` side by side) is the
shipped predictor.

The output keeps the input file's own columns (none added, none dropped) followed by the prediction columns and the
model that produced them (``model_name``, ``model_version``, ``model_uri``: an alias is resolved once, before the
first row). Rows that cannot be enriched are written with their reason to ``<out>.quarantine.csv`` beside the
output, only when there are any: ``rows_in == rows_enriched + rows_quarantined``. Spreadsheet formula cells are
escaped in both files; a cell is quoted only when it holds a comma, quote or line break. Changes also get
``<out>.summary.md`` beside the output, a compact markdown page for the batch (counts per zone and tier, the riskiest
changes with percentile, zone and justification, the quarantine: :mod:`riskft_pipeline.core.risk.summary`). Heavy
imports (torch, the tracking package) happen inside the functions.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskft_pipeline.core.errors import InputError
from riskft_pipeline.core.files import atomic_write, sha256_file
from riskft_pipeline.core.tasks import RISK, TASKS, TICKETS

MAX_FIELD_CHARS = 20000


@dataclass
class LoadedModel:
    """A model ready to predict, and what every output row records about it."""

    model: Any
    tokenizer: Any
    name: str
    version: str
    uri: str
    meta: dict
    context_dir: Path | None = None  # risk: history_stats.json, tier_definition.json (and tier_cuts.json)
    predictor_dir: Path | None = None  # the shipped predictor's other half: predictor.json (+ tickets: train.jsonl)
    settings: dict = field(default_factory=dict)  # overrides of the recipe's eval settings (the pyfunc's config)

    def eval_setting(self, key: str, default: int) -> int:
        if self.settings.get(key) is not None:
            return int(self.settings[key])
        return int(((self.meta.get("recipe") or {}).get("eval") or {}).get(key) or default)

    def train_setting(self, key: str, default: int) -> int:
        return int(((self.meta.get("recipe") or {}).get("train") or {}).get(key) or default)

    def predictor(self) -> dict | None:
        """``predictor.json`` (read once), or None for an adapter-only model."""
        if self.predictor_dir is None:
            return None
        if "_predictor" not in self.__dict__:
            self.__dict__["_predictor"] = json.loads((self.predictor_dir / PREDICTOR_FILE).read_text(
                encoding="utf-8"))
        return self.__dict__["_predictor"]

    def provenance(self) -> dict[str, str]:
        return {"model_name": self.name, "model_version": self.version, "model_uri": self.uri}


PREDICTOR_FILE = "predictor.json"
TRAIN_SPLIT_FILE = "train.jsonl"


def load_model(ref: str, *, tracking_uri: str | None = None) -> LoadedModel:
    """``models:/NAME@ALIAS`` / ``models:/NAME/N`` from the registry, or a local adapter folder (recorded as
    ``local:<folder>`` with the adapter weights' hash as version)."""
    from riskft_pipeline.training.infer import check_safetensors_adapter

    if ref.startswith("models:/"):
        from riskft_pipeline.tracking.resolve import fetch_model

        files = fetch_model(ref, tracking_uri=tracking_uri)
        return load_adapter(files.adapter_dir, name=files.name, version=files.version, uri=files.uri,
                            context_dir=files.context_dir, predictor_dir=files.predictor_dir)
    adapter = Path(ref).resolve()
    if not adapter.is_dir():
        raise InputError(f"model not found: {ref} (a models:/ URI or an adapter folder)")
    check_safetensors_adapter(adapter)  # a pickle-only folder: one clear line, not a missing-file error
    predictor = adapter.parent / "predictor"
    return load_adapter(adapter, name=f"local:{adapter.name}", uri=f"local:{adapter}",
                        version=sha256_file(adapter / "adapter_model.safetensors")[:12],
                        context_dir=_local_risk_context(adapter),
                        predictor_dir=predictor if (predictor / PREDICTOR_FILE).is_file() else None)


def load_adapter(adapter: Path, *, name: str, version: str, uri: str, context_dir: Path | None = None,
                 predictor_dir: Path | None = None, settings: dict | None = None) -> LoadedModel:
    """Base + adapter loaded as the evaluation loads them (change risk scores in fp32 whatever the training dtype;
    LoRA merged when the recipe's eval says so), with the files the prediction functions need."""
    from riskft_pipeline.core.config import BaseModelConfig
    from riskft_pipeline.training.infer import load_for_inference, read_adapter_meta

    meta = read_adapter_meta(adapter)
    base = BaseModelConfig(**meta["base_model"]["config"])
    spec = TASKS.get(meta.get("task") or "")
    if spec is not None and spec.score_in_fp32:
        base = base.model_copy(update={"dtype": "float32", "load_in_4bit": False})
    merge = ((meta.get("recipe") or {}).get("eval") or {}).get("merge_adapter", True)
    model, tokenizer = load_for_inference(adapter, base, merge=bool(merge))
    return LoadedModel(model, tokenizer, name, version, uri, meta, context_dir, predictor_dir, dict(settings or {}))


def _local_risk_context(adapter: Path) -> Path | None:
    """For a risk adapter: ``../risk_context`` (a downloaded registered model), the adapter folder itself, or the
    prepared data folder recorded in ``../run.json`` (trained by ``riskft train``)."""
    if (adapter.parent / "risk_context" / "history_stats.json").is_file():
        return adapter.parent / "risk_context"
    if (adapter / "history_stats.json").is_file():
        return adapter
    info = adapter.parent / "run.json"
    if info.is_file():
        data_dir = Path(json.loads(info.read_text(encoding="utf-8")).get("data_dir") or "")
        if (data_dir / "history_stats.json").is_file():
            return data_dir
    return None


# --- what goes in -------------------------------------------------------------------------------------------------


def ticket_input_columns() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(required, used when present) columns of a ticket file to enrich; any other column is kept as it is."""
    from riskft_pipeline.core.tickets.io import ID_COLUMN, TEXT_COLUMNS

    return (ID_COLUMN, *TEXT_COLUMNS), ()


def change_input_columns() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(required, used when present) columns of a changes file to enrich; any other column is kept as it is."""
    from riskft_pipeline.core.risk.features import DATE, FEATURES, ID, TEXT_COLUMNS

    return (ID, *FEATURES), (DATE, *TEXT_COLUMNS)


# --- confidence from token probabilities ---------------------------------------------------------------------------


def token_ends(tokenizer, token_ids: Sequence[int]) -> list[int]:
    """Character offset where each generated token ends in the decoded answer (decoding prefixes, so multi-byte
    characters split over tokens land on the token that completes them)."""
    return [len(tokenizer.decode(list(token_ids[: k + 1]), skip_special_tokens=True)) for k in range(len(token_ids))]


def value_spans(text: str, fields: Sequence[str]) -> dict[str, tuple[int, int]]:
    """Character span of each field's JSON value (quotes included) in the first JSON object of ``text``."""
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start != -1:
        try:
            obj, end = decoder.raw_decode(text, start)
        except (json.JSONDecodeError, RecursionError):
            obj = None
        if isinstance(obj, dict):
            return _spans_in(text, start, end, fields, decoder)
        start = text.find("{", start + 1)
    return {}


def _spans_in(text: str, start: int, end: int, fields: Sequence[str], decoder) -> dict[str, tuple[int, int]]:
    import re

    spans = {}
    for f in fields:
        key = re.compile(r'"' + re.escape(f) + r'"\s*:\s*')
        m = key.search(text, start, end)
        if m:
            _, value_end = decoder.raw_decode(text, m.end())
            spans[f] = (m.end(), value_end)
    return spans


def field_confidences(text: str, ends: Sequence[int], probs: Sequence[float],
                      fields: Sequence[str]) -> dict[str, float | None]:
    """Per field, the product of the probabilities of the tokens that spell its value: the probability the model
    assigned to exactly this value given the answer so far. None for a field absent from the answer."""
    spans = value_spans(text, fields)
    out: dict[str, float | None] = {}
    for f in fields:
        if f not in spans:
            out[f] = None
            continue
        lo, hi = spans[f]
        starts = [0, *ends[:-1]]
        picked = [p for s, e, p in zip(starts, ends, probs) if s < hi and e > lo]
        out[f] = float(np.prod(picked)) if picked else None
    return out


# --- tickets -------------------------------------------------------------------------------------------------------


def split_tickets(read) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows that can be enriched, and the quarantine (malformed lines, no text, oversize cells) with a reason."""
    raw = read.df.reset_index(drop=True)
    reason = pd.Series("", index=raw.index, dtype=object)
    oversize = np.zeros(len(raw), dtype=bool)
    for col in raw.columns:
        oversize |= (raw[col].astype(str).str.len() > MAX_FIELD_CHARS).to_numpy()
    reason[oversize] = "oversize field"
    no_text = (raw["short_description"].str.strip() == "") & (raw["content"].str.strip() == "")
    reason[(reason == "") & no_text] = "missing text"
    bad = reason != ""
    quarantine = pd.concat([raw[bad].assign(reason=reason[bad]), read.bad_rows], ignore_index=True)
    return raw[~bad].reset_index(drop=True), quarantine


def predict_tickets(loaded: LoadedModel, frame: pd.DataFrame, *, batch_size: int | None = None,
                    progress: bool = True) -> pd.DataFrame:
    """:func:`predict_ticket_texts` for each row of ``frame`` (export columns), its text built exactly as at training
    time (:func:`core.tickets.clean.model_texts`)."""
    from riskft_pipeline.core.tickets.clean import model_texts

    out = predict_ticket_texts(loaded, model_texts(frame).tolist(), batch_size=batch_size, progress=progress)
    return out.set_axis(frame.index)


def ticket_columns(loaded: LoadedModel) -> list[str]:
    """The columns :func:`predict_ticket_texts` returns for this model."""
    from riskft_pipeline.core.tickets.prompts import FIELDS

    cols = [*(f"pred_{f}" for f in FIELDS), *(f"conf_{f}" for f in FIELDS), "valid_json"]
    return cols + (["needs_review", "review_fields"] if loaded.predictor() is not None else [])


def predict_ticket_texts(loaded: LoadedModel, texts: Sequence[str], *, batch_size: int | None = None,
                         progress: bool = True) -> pd.DataFrame:
    """The model's answer for each ticket text (already redacted; escaped here by the prompt builder): the shipped
    predictor when the model has one, else the adapter alone (see the module docstring for the columns)."""
    if not len(texts):
        return pd.DataFrame(columns=ticket_columns(loaded))
    if loaded.predictor() is None:
        return _adapter_tickets(loaded, texts, batch_size, progress)
    return _shipped_tickets(loaded, texts, batch_size, progress)


def _adapter_tickets(loaded: LoadedModel, texts: Sequence[str], batch_size: int | None, progress: bool
                     ) -> pd.DataFrame:
    from riskft_pipeline.core.tickets.prompts import FIELDS, build_messages, parse_answer
    from riskft_pipeline.training.infer import generate_with_scores

    gens = generate_with_scores(loaded.model, loaded.tokenizer, [build_messages(t) for t in texts],
                                batch_size=batch_size or loaded.eval_setting("batch_size", 16),
                                max_new_tokens=loaded.eval_setting("max_new_tokens", 96), progress=progress)
    rows = []
    for g in gens:
        parsed = parse_answer(g.text)
        conf = field_confidences(g.text, token_ends(loaded.tokenizer, g.token_ids), g.token_probs, FIELDS) \
            if parsed else dict.fromkeys(FIELDS)
        rows.append({**{f"pred_{f}": (parsed or {}).get(f) for f in FIELDS},
                     **{f"conf_{f}": _round(conf[f]) for f in FIELDS}, "valid_json": parsed is not None})
    return _frame(rows, ticket_columns(loaded))


def _shipped_tickets(loaded: LoadedModel, texts: Sequence[str], batch_size: int | None, progress: bool
                     ) -> pd.DataFrame:
    """Adapter choice + TF-IDF/LR refitted on the shipped training split, fused as the evaluation fused them
    (the same functions: :func:`training.evaluate.fit_tabular`, :func:`~training.evaluate.hinted_prompts`,
    :func:`~training.choose.choose_answers`, :func:`~training.evaluate.fused_answers`)."""
    from riskft_pipeline.core.tickets.prompts import (
        CATEGORICAL_FIELDS,
        FIELDS,
        FREE_TEXT_FIELDS,
        build_messages,
    )
    from riskft_pipeline.training import evaluate
    from riskft_pipeline.training.choose import choose_answers
    from riskft_pipeline.training.sft import read_split

    predictor = loaded.predictor()
    if predictor.get("kind") != "ticket-fusion":
        raise InputError(f"{loaded.uri}: its predictor is {predictor.get('kind')!r}, not a ticket predictor")
    specs = {f: predictor["fields"][f] for f in CATEGORICAL_FIELDS}
    train = read_split(loaded.predictor_dir / TRAIN_SPLIT_FILE)
    prompts = [build_messages(t) for t in texts]
    tabular = evaluate.fit_tabular(train, {"new": prompts}, loaded.train_setting("seed", 0))
    for f, spec in specs.items():
        if list(tabular[f][0]) != list(spec["labels"]):
            raise InputError(f"{loaded.uri}: the {f} labels refitted from its train.jsonl differ from its "
                             "predictor's: the files do not belong together")
    hinted = evaluate.hinted_prompts(train, {"new": prompts}, loaded.train_setting("retrieval_k", 0))["new"]
    chosen, _ = choose_answers(loaded.model, loaded.tokenizer, hinted, {f: s["labels"] for f, s in specs.items()},
                               batch_size=batch_size or loaded.eval_setting("batch_size", 16),
                               max_new_tokens=loaded.eval_setting("max_new_tokens", 96),
                               progress=evaluate.progress_printer("enrich", "tickets") if progress else None,
                               systems=evaluate.system_names(train) if predictor.get("system_choice") else None)
    fused = evaluate.fused_answers(predictor, chosen, {f: tabular[f][1]["new"] for f in CATEGORICAL_FIELDS})
    rows = []
    for c, (answer, conf) in zip(chosen, fused, strict=True):
        review = [f for f, spec in specs.items()
                  if spec["review"]["threshold"] is None or conf[f] < spec["review"]["threshold"]]
        rows.append({**{f"pred_{f}": answer.get(f) for f in FIELDS},
                     **{f"conf_{f}": round(conf[f], 4) for f in CATEGORICAL_FIELDS},
                     **{f"conf_{f}": _round(c.free_text_confidence(f)) for f in FREE_TEXT_FIELDS},
                     "valid_json": True, "needs_review": bool(review), "review_fields": ",".join(review)})
    return _frame(rows, ticket_columns(loaded))


def _frame(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    """Column by column, so a missing value stays None (JSON null), not NaN, in a text column."""
    return pd.DataFrame({c: pd.Series([r.get(c) for r in rows], dtype=object if c.startswith("pred_") else None)
                         for c in columns}, columns=columns)


def enrich_tickets_file(input_csv: str | Path, out_csv: str | Path, *, model: str = TICKETS.champion_uri,
                        loaded: LoadedModel | None = None, batch_size: int | None = None, progress: bool = True,
                        tracking_uri: str | None = None) -> dict:
    """Enrich a ticket export (labels not needed); returns a summary (also what the asset reports)."""
    from riskft_pipeline.core.tickets.io import read_ticket_csv
    from riskft_pipeline.core.tickets.prompts import FIELDS

    t0 = time.perf_counter()
    read = read_ticket_csv(input_csv, require_labels=False)
    good, quarantine = split_tickets(read)
    loaded = loaded or load_model(model, tracking_uri=tracking_uri)
    preds = predict_tickets(loaded, good, batch_size=batch_size, progress=progress)
    kept = [c for c in read.source_columns if c not in preds.columns]  # the file's columns, none added
    out = pd.concat([good[kept], preds], axis=1).assign(**loaded.provenance())
    quarantine = quarantine[[c for c in quarantine.columns if c in read.source_columns or c == "reason"]]
    summary = _write_outputs(out, quarantine, Path(input_csv), Path(out_csv), read.raw_rows, loaded, t0)
    summary["predictor"] = "shipped" if loaded.predictor() is not None else "adapter"
    summary["valid_json_rate"] = float(preds["valid_json"].mean()) if len(preds) else None
    summary["mean_confidence"] = {f: _mean(preds[f"conf_{f}"]) for f in FIELDS}
    if "needs_review" in preds:
        summary["needs_review_rate"] = float(preds["needs_review"].mean()) if len(preds) else None
    return summary


# --- changes -------------------------------------------------------------------------------------------------------


def split_changes(path: str | Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``(original rows, their typed metrics, quarantine)``. Reading is the training data's (``read_changes_csv``:
    ragged lines and Latin-1 files included) and so is validation (``clean_changes``); a label is not needed (new
    changes have none) and the date is optional."""
    from riskft_pipeline.core.risk.features import (
        DATE,
        FEATURES,
        ID,
        LABEL,
        MALFORMED_COLUMN,
        clean_changes,
        read_changes_csv,
    )

    raw = read_changes_csv(path, required=(ID, *FEATURES))
    work = raw.assign(**{LABEL: "0"}, **({} if DATE in raw.columns else {DATE: "0"}))
    result = clean_changes(work)
    raw = raw.drop(columns=[MALFORMED_COLUMN], errors="ignore")  # its rows are quarantined as malformed_row
    bad = result.quarantine["source_row"].to_numpy() if len(result.quarantine) else np.array([], dtype=int)
    keep = np.setdiff1d(np.arange(len(raw)), bad)
    good = raw.iloc[keep].reset_index(drop=True)
    typed = result.clean.set_index(ID).loc[good[ID].str.strip()].reset_index()
    quarantine = raw.iloc[bad].assign(reason=result.quarantine["reason"].to_numpy()).reset_index(drop=True)
    return good, typed, quarantine


def predict_changes(loaded: LoadedModel, typed: pd.DataFrame, *, batch_size: int | None = None,
                    justify: bool = True, progress: bool = True) -> pd.DataFrame:
    """Tier, shipped score, adapter score and tier probabilities (one forward pass), and optionally a checked
    justification, for each change of ``typed`` (the 14 metrics as numbers; see the module docstring)."""
    from riskft_pipeline.core.config import RiskConfig
    from riskft_pipeline.core.risk.examples import load_context
    from riskft_pipeline.core.risk.faithful import check_faithful
    from riskft_pipeline.core.risk.justify import (
        justification_start,
        read_justification,
        shipped_justification,
    )
    from riskft_pipeline.core.risk.prompts import ANSWER_PREFIX, TIERS, PromptText, build_messages
    from riskft_pipeline.core.risk.tiers import tiers_from_scores
    from riskft_pipeline.core.risk.zones import percentiles, zone_of
    from riskft_pipeline.training.evaluate_risk import shipped_scores, tier_scores
    from riskft_pipeline.training.infer import choice_probabilities, generate_after

    if loaded.context_dir is None:
        raise InputError(f"{loaded.uri} carries no risk context (history_stats.json): is it a change-risk model?")
    predictor = loaded.predictor()
    if predictor is not None and predictor.get("kind") != "risk-fusion":
        raise InputError(f"{loaded.uri}: its predictor is {predictor.get('kind')!r}, not a change-risk predictor")
    stats, _ = load_context(loaded.context_dir)
    typed = typed.reset_index(drop=True)
    rows = typed.to_dict("records")
    # the prompt carries as much commit text as the model was trained with (the recipe it travels with)
    text = PromptText.of(RiskConfig.model_validate((loaded.meta.get("recipe") or {}).get("risk") or {}))
    messages = [build_messages(r, stats, text=text) for r in rows]
    bs = batch_size or loaded.eval_setting("batch_size", 16)
    probs = choice_probabilities(loaded.model, loaded.tokenizer, messages, TIERS, answer_prefix=ANSWER_PREFIX,
                                 batch_size=bs, progress=progress).reshape(len(rows), len(TIERS))
    adapter = tier_scores(probs)
    cuts_file = loaded.context_dir / "tier_cuts.json"
    if predictor is not None:  # the shipped predictor: fused score, banded by the cuts fitted on it
        scores = shipped_scores(predictor, adapter, typed)
        tiers = tiers_from_scores(scores, predictor["tier_cuts"])
    elif cuts_file.is_file():  # an adapter-only registered model: the bands its evaluation reported
        scores, tiers = adapter, tiers_from_scores(adapter, json.loads(cuts_file.read_text(encoding="utf-8")))
    else:  # a bare adapter folder: no evaluation travels with it, so the most probable tier
        scores, tiers = adapter, [TIERS[i] for i in probs.argmax(axis=1)]
    out = pd.DataFrame({"risk_tier": list(tiers), "risk_score": scores,
                        **{f"p_{t}": probs[:, k] for k, t in enumerate(TIERS)}, "adapter_score": adapter})
    zones = (predictor or {}).get("zones")
    if zones:  # where the change falls among the validation period's scores (core.risk.zones)
        out["risk_percentile"] = np.round(percentiles(scores, zones), 1)
        out["risk_zone"] = zone_of(scores, zones)
    if justify:
        starts = [justification_start(t) for t in tiers]
        gens = generate_after(loaded.model, loaded.tokenizer, messages, starts, batch_size=bs,
                              max_new_tokens=loaded.eval_setting("max_new_tokens", 96), progress=progress)
        shipped = [shipped_justification(read_justification(kept, text), r, stats, t)
                   for (kept, text), r, t in zip(gens, rows, tiers)]
        out["justification"] = [text for text, _, _ in shipped]
        out["justification_source"] = [source for _, source, _ in shipped]
        out["justification_faithful"] = [check_faithful(text, r, stats).ok for (text, _, _), r in zip(shipped, rows)]
    return out


def enrich_changes_file(input_csv: str | Path, out_csv: str | Path, *, model: str = RISK.champion_uri,
                        loaded: LoadedModel | None = None, batch_size: int | None = None, justify: bool = True,
                        progress: bool = True, tracking_uri: str | None = None) -> dict:
    """Enrich a changes CSV (``_id`` + the 14 metrics; ``message``/``diff_summary`` used when present)."""
    t0 = time.perf_counter()
    good, typed, quarantine = split_changes(input_csv)
    loaded = loaded or load_model(model, tracking_uri=tracking_uri)
    preds = predict_changes(loaded, typed, batch_size=batch_size, justify=justify, progress=progress) \
        if len(good) else pd.DataFrame()
    shown = preds.round({c: 4 for c in ("risk_score", "p_low", "p_medium", "p_high", "adapter_score")})
    out = pd.concat([good, shown], axis=1).assign(**loaded.provenance())
    summary = _write_outputs(out, quarantine, Path(input_csv), Path(out_csv), len(good) + len(quarantine),
                             loaded, t0)
    summary["tiers"] = {str(k): int(v) for k, v in preds.get("risk_tier", pd.Series(dtype=str)).value_counts()
                        .items()}
    if "justification_faithful" in preds:
        summary["faithful_rate"] = _mean(preds["justification_faithful"].astype(float))
        summary["model_justified_rate"] = _mean((preds["justification_source"] == "model").astype(float))
    if "risk_zone" in preds:
        summary["zones"] = {str(k): int(v) for k, v in preds["risk_zone"].value_counts().items()}
    summary["summary_md"] = str(write_change_summary(out, summary, Path(out_csv)))
    return summary


def write_change_summary(out: pd.DataFrame, summary: dict, out_csv: Path) -> Path:
    """The batch's markdown summary (:mod:`riskft_pipeline.core.risk.summary`) beside the enriched CSV, atomically:
    ``<stem>.summary.md``. ``out`` is the enriched frame as written, ``summary`` the write's row accounting."""
    from riskft_pipeline.core.risk.summary import batch_summary_markdown, summary_path

    target = summary_path(out_csv)
    text = batch_summary_markdown(out, quarantined=summary["rows_quarantined"],
                                  quarantine_reasons=summary["quarantine_reasons"], source=summary["input"])
    with atomic_write(target) as f:
        f.write(text)
    return target


# --- output --------------------------------------------------------------------------------------------------------


def quarantine_path(out_csv: Path) -> Path:
    return out_csv.with_name(f"{out_csv.stem}.quarantine.csv")


def _write_outputs(out: pd.DataFrame, quarantine: pd.DataFrame, input_csv: Path, out_csv: Path, rows_in: int,
                   loaded: LoadedModel, t0: float) -> dict:
    """Both files atomically, formula cells escaped; the row accounting is checked, not assumed."""
    if rows_in != len(out) + len(quarantine):
        raise AssertionError(f"row accounting broken: {rows_in} in != {len(out)} enriched + {len(quarantine)} "
                             "quarantined")
    _write_csv(out, out_csv)
    q_path = quarantine_path(out_csv)
    if len(quarantine):
        _write_csv(quarantine, q_path)
    else:
        q_path.unlink(missing_ok=True)  # nothing quarantined: no file (and none left over from an earlier run)
    reasons = quarantine["reason"].value_counts() if len(quarantine) else pd.Series(dtype=int)
    return {"input": str(input_csv), "input_sha256": sha256_file(input_csv), "output": str(out_csv),
            "quarantine": str(q_path) if len(quarantine) else None, "rows_in": rows_in, "rows_enriched": len(out),
            "rows_quarantined": len(quarantine), "quarantine_reasons": {str(k): int(v) for k, v in reasons.items()},
            **loaded.provenance(), "seconds": round(time.perf_counter() - t0, 2)}


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Atomically, formula cells escaped, a cell quoted only when it must be: CRLF line ends make the writer quote
    any cell holding a bare CR or LF as well as commas and quotes, so no text cell splits its row when read back."""
    from riskft_pipeline.core.csvio import escape_formulas

    with atomic_write(path) as f:
        escape_formulas(frame).to_csv(f, index=False, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(float(value), digits)


def _mean(values: pd.Series) -> float | None:
    v = pd.to_numeric(values, errors="coerce").dropna()
    return float(v.mean()) if len(v) else None
