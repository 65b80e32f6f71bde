"""Enrichment of new work, CSV in → CSV out: what ``riskft enrich`` and the ``enriched_*`` assets run.

- **Tickets**: each row gets the six predicted fields (``pred_<field>``), a confidence per field (``conf_<field>``:
  the probability the model gave that exact value, the product of its tokens' probabilities in the greedy answer)
  and ``valid_json``. Text reaches the model exactly as at training time (:func:`core.tickets.clean.model_texts`:
  tidied, joined, PII-redacted, then escaped by the prompt builder).
- **Changes**: each row gets ``risk_tier``, ``risk_score`` = P(high) + 0.5·P(medium) and the three tier
  probabilities, all from one forward pass (the tier is the score's band under the cut points the model's evaluation
  fitted on validation, ``tier_cuts.json``, registered with the model; a bare adapter folder has none, so there the
  most probable tier), plus a generated ``justification`` and whether every claim in
  it is true of the change (``justification_faithful``).

Every output row records the model that produced it (``model_name``, ``model_version``, ``model_uri``: an alias is
resolved once, before the first row). Rows that cannot be enriched are written with their reason to
``<out>.quarantine.csv`` beside the output: ``rows_in == rows_enriched + rows_quarantined``. Spreadsheet formula
cells are escaped in both files. Heavy imports (torch, the tracking package) happen inside the functions.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskft_pipeline.core.errors import InputError
from riskft_pipeline.core.jsonl import atomic_write, sha256_file

DEFAULT_MODELS = {"tickets": "models:/ticket-extractor@champion", "changes": "models:/change-risk@champion"}
MAX_FIELD_CHARS = 20000


@dataclass
class LoadedModel:
    """A model ready to generate, and what every output row records about it."""

    model: Any
    tokenizer: Any
    name: str
    version: str
    uri: str
    meta: dict
    context_dir: Path | None = None

    def eval_setting(self, key: str, default: int) -> int:
        return int(((self.meta.get("recipe") or {}).get("eval") or {}).get(key) or default)

    def provenance(self) -> dict[str, str]:
        return {"model_name": self.name, "model_version": self.version, "model_uri": self.uri}


def load_model(ref: str, *, tracking_uri: str | None = None) -> LoadedModel:
    """``models:/NAME@ALIAS`` / ``models:/NAME/N`` from the registry, or a local adapter folder (recorded as
    ``local:<folder>`` with the adapter weights' hash as version)."""
    from riskft_pipeline.training.infer import (
        check_safetensors_adapter,
        load_for_inference,
        read_adapter_meta,
    )

    if ref.startswith("models:/"):
        from riskft_pipeline.tracking.resolve import fetch_model

        files = fetch_model(ref, tracking_uri=tracking_uri)
        adapter, name, version, uri, context = (files.adapter_dir, files.name, files.version, files.uri,
                                                files.context_dir)
    else:
        adapter = Path(ref).resolve()
        if not adapter.is_dir():
            raise InputError(f"model not found: {ref} (a models:/ URI or an adapter folder)")
        name, uri = f"local:{adapter.name}", f"local:{adapter}"
        check_safetensors_adapter(adapter)  # a pickle-only folder: one clear line, not a missing-file error
        version = sha256_file(adapter / "adapter_model.safetensors")[:12]
        context = _local_risk_context(adapter)
    model, tokenizer = load_for_inference(adapter)
    return LoadedModel(model, tokenizer, name, version, uri, read_adapter_meta(adapter), context)


def _local_risk_context(adapter: Path) -> Path | None:
    """For a risk adapter trained by ``riskft train``: the prepared data folder recorded in ``../run.json``."""
    if (adapter / "history_stats.json").is_file():
        return adapter
    info = adapter.parent / "run.json"
    if info.is_file():
        data_dir = Path(json.loads(info.read_text(encoding="utf-8")).get("data_dir") or "")
        if (data_dir / "history_stats.json").is_file():
            return data_dir
    return None


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
    """``pred_<field>``, ``conf_<field>`` and ``valid_json`` for each row of ``frame`` (export columns)."""
    from riskft_pipeline.core.tickets.clean import model_texts
    from riskft_pipeline.core.tickets.prompts import FIELDS, build_messages, parse_answer
    from riskft_pipeline.training.infer import generate_with_scores

    texts = model_texts(frame).tolist()
    gens = generate_with_scores(loaded.model, loaded.tokenizer, [build_messages(t) for t in texts],
                                batch_size=batch_size or loaded.eval_setting("batch_size", 16),
                                max_new_tokens=loaded.eval_setting("max_new_tokens", 96), progress=progress)
    rows = []
    for g in gens:
        parsed = parse_answer(g.text)
        conf = field_confidences(g.text, token_ends(loaded.tokenizer, g.token_ids), g.token_probs, FIELDS) \
            if parsed else dict.fromkeys(FIELDS)
        rows.append({**{f"pred_{f}": (parsed or {}).get(f) for f in FIELDS},
                     **{f"conf_{f}": conf[f] for f in FIELDS}, "valid_json": parsed is not None})
    return pd.DataFrame(rows, index=frame.index)


def enrich_tickets_file(input_csv: str | Path, out_csv: str | Path, *, model: str = DEFAULT_MODELS["tickets"],
                        loaded: LoadedModel | None = None, batch_size: int | None = None, progress: bool = True,
                        tracking_uri: str | None = None) -> dict:
    """Enrich a ticket export (labels not needed); returns a summary (also what the asset reports)."""
    from riskft_pipeline.core.tickets.io import read_ticket_csv
    from riskft_pipeline.core.tickets.prompts import FIELDS

    t0 = time.perf_counter()
    read = read_ticket_csv(input_csv, require_labels=False)
    good, quarantine = split_tickets(read)
    loaded = loaded or load_model(model, tracking_uri=tracking_uri)
    preds = predict_tickets(loaded, good, batch_size=batch_size, progress=progress) if len(good) else \
        pd.DataFrame(columns=[*(f"pred_{f}" for f in FIELDS), *(f"conf_{f}" for f in FIELDS), "valid_json"])
    out = pd.concat([good, preds], axis=1).assign(**loaded.provenance())
    summary = _write_outputs(out, quarantine, Path(input_csv), Path(out_csv), read.raw_rows, loaded, t0)
    summary["valid_json_rate"] = float(preds["valid_json"].mean()) if len(preds) else None
    summary["mean_confidence"] = {f: _mean(preds[f"conf_{f}"]) for f in FIELDS}
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
    """Tier, score and tier probabilities (one forward pass), and optionally a checked justification."""
    from riskft_pipeline.core.risk.examples import load_context
    from riskft_pipeline.core.risk.faithful import check_faithful
    from riskft_pipeline.core.risk.prompts import ANSWER_PREFIX, TIERS, build_messages, parse_answer
    from riskft_pipeline.core.risk.tiers import tiers_from_scores
    from riskft_pipeline.training.evaluate_risk import tier_scores
    from riskft_pipeline.training.infer import choice_probabilities, generate

    if loaded.context_dir is None:
        raise InputError(f"{loaded.uri} carries no risk context (history_stats.json): is it a change-risk model?")
    stats, _ = load_context(loaded.context_dir)
    rows = typed.to_dict("records")
    messages = [build_messages(r, stats) for r in rows]
    bs = batch_size or loaded.eval_setting("batch_size", 16)
    probs = choice_probabilities(loaded.model, loaded.tokenizer, messages, TIERS, answer_prefix=ANSWER_PREFIX,
                                 batch_size=bs, progress=progress)
    scores = tier_scores(probs)
    cuts_file = loaded.context_dir / "tier_cuts.json"
    if cuts_file.is_file():  # registered by riskft: the score bands its evaluation reported
        tiers = tiers_from_scores(scores, json.loads(cuts_file.read_text(encoding="utf-8")))
    else:  # a local adapter folder: no evaluation travels with it, so the most probable tier
        tiers = [TIERS[i] for i in probs.argmax(axis=1)]
    out = pd.DataFrame({"risk_tier": tiers,
                        "risk_score": scores,
                        **{f"p_{t}": probs[:, k] for k, t in enumerate(TIERS)}})
    if justify:
        texts = generate(loaded.model, loaded.tokenizer, messages, batch_size=bs,
                         max_new_tokens=loaded.eval_setting("max_new_tokens", 96), progress=progress)
        just = [(parse_answer(t) or {}).get("justification") for t in texts]
        out["justification"] = just
        out["justification_faithful"] = [check_faithful(j, r, stats).ok for j, r in zip(just, rows)]
    return out


def enrich_changes_file(input_csv: str | Path, out_csv: str | Path, *, model: str = DEFAULT_MODELS["changes"],
                        loaded: LoadedModel | None = None, batch_size: int | None = None, justify: bool = True,
                        progress: bool = True, tracking_uri: str | None = None) -> dict:
    """Enrich a changes CSV (``_id`` + the 14 metrics; ``message``/``diff_summary`` used when present)."""
    t0 = time.perf_counter()
    good, typed, quarantine = split_changes(input_csv)
    loaded = loaded or load_model(model, tracking_uri=tracking_uri)
    preds = predict_changes(loaded, typed, batch_size=batch_size, justify=justify, progress=progress) \
        if len(good) else pd.DataFrame()
    out = pd.concat([good, preds], axis=1).assign(**loaded.provenance())
    summary = _write_outputs(out, quarantine, Path(input_csv), Path(out_csv), len(good) + len(quarantine),
                             loaded, t0)
    summary["tiers"] = {str(k): int(v) for k, v in preds.get("risk_tier", pd.Series(dtype=str)).value_counts()
                        .items()}
    if "justification_faithful" in preds:
        summary["faithful_rate"] = _mean(preds["justification_faithful"].astype(float))
    return summary


# --- output --------------------------------------------------------------------------------------------------------


def quarantine_path(out_csv: Path) -> Path:
    return out_csv.with_name(f"{out_csv.stem}.quarantine.csv")


def _write_outputs(out: pd.DataFrame, quarantine: pd.DataFrame, input_csv: Path, out_csv: Path, rows_in: int,
                   loaded: LoadedModel, t0: float) -> dict:
    """Both files atomically, formula cells escaped; the row accounting is checked, not assumed."""
    from riskft_pipeline.core.tickets.prepare import escape_formulas

    if rows_in != len(out) + len(quarantine):
        raise AssertionError(f"row accounting broken: {rows_in} in != {len(out)} enriched + {len(quarantine)} "
                             "quarantined")
    for frame, path in ((out, out_csv), (quarantine, quarantine_path(out_csv))):
        with atomic_write(path) as f:
            # every cell quoted: a bare CR inside a text cell must not split its row when read back
            escape_formulas(frame).to_csv(f, index=False, lineterminator="\n", quoting=csv.QUOTE_ALL)
    reasons = quarantine["reason"].value_counts() if len(quarantine) else pd.Series(dtype=int)
    return {"input": str(input_csv), "input_sha256": sha256_file(input_csv), "output": str(out_csv),
            "quarantine": str(quarantine_path(out_csv)), "rows_in": rows_in, "rows_enriched": len(out),
            "rows_quarantined": len(quarantine), "quarantine_reasons": {str(k): int(v) for k, v in reasons.items()},
            **loaded.provenance(), "seconds": round(time.perf_counter() - t0, 2)}


def _mean(values: pd.Series) -> float | None:
    v = pd.to_numeric(values, errors="coerce").dropna()
    return float(v.mean()) if len(v) else None


# --- CLI -----------------------------------------------------------------------------------------------------------


def add_enrich_parser(subparsers) -> None:
    """``riskft enrich tickets|changes``: hooked into ``riskft_pipeline.cli.build_parser``."""
    e = subparsers.add_parser("enrich", help="add model predictions to new tickets or changes (CSV in, CSV out)")
    esub = e.add_subparsers(dest="enrich_command", required=True)
    for kind, help_text in (("tickets", "predicted fields + per-field confidence for each ticket"),
                            ("changes", "risk tier, score and justification for each change")):
        s = esub.add_parser(kind, help=help_text)
        s.add_argument("--input", required=True, help="CSV to enrich")
        s.add_argument("--out", required=True, help="enriched CSV (bad rows go to <out>.quarantine.csv)")
        s.add_argument("--model", default=DEFAULT_MODELS[kind],
                       help=f"models:/NAME@ALIAS, models:/NAME/VERSION or an adapter folder (default {DEFAULT_MODELS[kind]})")
        s.add_argument("--batch-size", type=int, help="rows per generation batch (default: the recipe's eval batch)")
        s.add_argument("--quiet", action="store_true", help="no progress bar")
        if kind == "changes":
            s.add_argument("--no-justify", action="store_true", help="tier and score only (no text generation)")
        s.set_defaults(func=cmd_enrich_tickets if kind == "tickets" else cmd_enrich_changes)


def cmd_enrich_tickets(args: argparse.Namespace) -> int:
    summary = enrich_tickets_file(args.input, args.out, model=args.model, batch_size=args.batch_size,
                                  progress=not args.quiet)
    print(json.dumps(summary, indent=2, default=str))
    return 0


def cmd_enrich_changes(args: argparse.Namespace) -> int:
    summary = enrich_changes_file(args.input, args.out, model=args.model, batch_size=args.batch_size,
                                  justify=not args.no_justify, progress=not args.quiet)
    print(json.dumps(summary, indent=2, default=str))
    return 0
