"""Evaluate a ticket adapter by generating and parsing (not by token accuracy), side by side with baselines computed
in the same run on the same split: majority class, TF-IDF + logistic regression, and the base model zero-shot.

Writes ``report.json`` (the shape scripts read), ``report.md`` (tables + plots), ``predictions.jsonl`` and confusion
PNGs into ``out_dir``; every file is written atomically and ``report.json`` last.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Sequence
from pathlib import Path

from riskft_pipeline.core.baselines import majority_baseline, tfidf_lr_fields
from riskft_pipeline.core.config import BaseModelConfig, EvalConfig, Recipe, recipe_hash
from riskft_pipeline.core.errors import InputError
from riskft_pipeline.core.jsonl import atomic_write, sha256_file, write_json, write_jsonl
from riskft_pipeline.core.metrics import confusion, field_scores
from riskft_pipeline.core.tickets.prompts import CATEGORICAL_FIELDS, FIELDS, FREE_TEXT_FIELDS, parse_answer
from riskft_pipeline.training.infer import generate, load_for_inference, read_adapter_meta
from riskft_pipeline.training.sft import read_split, sample_rows

BASELINES = ("majority", "tfidf_lr", "zero_shot")
CONFUSION_FIELDS = ("category", "subcategory")
BEATS_RULE = ("the adapter beats a baseline on a field when its accuracy is at least the baseline's and it is "
              "strictly better on accuracy or on macro-F1")


# --- inputs ----------------------------------------------------------------------------------------------------


def _expected(row: dict) -> dict:
    answer = parse_answer(row["messages"][-1].get("content"))
    if answer is None:
        raise InputError(f"test example {row.get('id')!r}: the assistant turn is not a ticket answer JSON")
    return answer


def _input_text(messages: Sequence[dict]) -> str:
    """What a text classifier sees: the user turns (the ticket), not the system prompt."""
    return "\n".join(m["content"] for m in messages if m.get("role") == "user")


# --- model runs ------------------------------------------------------------------------------------------------


def run_generation(adapter_dir: Path | None, base_cfg: BaseModelConfig | None, prompts: list, ev: EvalConfig,
                   progress: bool) -> tuple[list[str], dict]:
    """Load (adapter or bare base), generate for every prompt, free the model; returns texts and timings."""
    t0 = time.perf_counter()
    model, tokenizer = load_for_inference(adapter_dir, base_cfg, merge=ev.merge_adapter)
    t1 = time.perf_counter()
    texts = generate(model, tokenizer, prompts, batch_size=ev.batch_size, max_new_tokens=ev.max_new_tokens,
                     progress=progress)
    t2 = time.perf_counter()
    del model
    gc.collect()
    return texts, {"load_s": round(t1 - t0, 2), "generate_s": round(t2 - t1, 2),
                   "examples_per_s": round(len(prompts) / (t2 - t1), 3) if t2 > t1 else None}


def _field_predictions(parsed: list[dict | None]) -> dict[str, list]:
    return {f: [p.get(f) if p else None for p in parsed] for f in FIELDS}


def _baseline_predictions(train: list[dict], test_texts: list[str], seed: int) -> dict[str, dict[str, list]]:
    train_answers = [_expected(r) for r in train]
    train_texts = [_input_text(r["messages"][:-1]) for r in train]
    labels = {f: [a[f] for a in train_answers] for f in FIELDS}
    return {"majority": {f: majority_baseline(labels[f], len(test_texts)) for f in FIELDS},
            "tfidf_lr": tfidf_lr_fields(train_texts, labels, test_texts, seed=seed)}


# --- report ----------------------------------------------------------------------------------------------------


def beats(model: dict, baseline: dict | None) -> bool | None:
    """See :data:`BEATS_RULE`; None when the baseline was not run."""
    if baseline is None:
        return None
    acc_m, acc_b = model["accuracy"], baseline["accuracy"]
    return bool(acc_m >= acc_b and (acc_m > acc_b or model["macro_f1"] > baseline["macro_f1"]))


def build_report(expected: list[dict], predictions: dict[str, dict[str, list] | None], valid: dict[str, float | None],
                 timing: dict) -> dict:
    """The report dict from per-method field predictions (``predictions[method][field]``); pure."""
    fields, beat = {}, {}
    for f in FIELDS:
        truth = [e[f] for e in expected]
        free = f in FREE_TEXT_FIELDS
        fields[f] = {m: (field_scores(truth, preds[f], free_text=free) if preds is not None else None)
                     for m, preds in predictions.items()}
        beat[f] = {b: beats(fields[f]["model"], fields[f].get(b)) for b in BASELINES if b in predictions}
    mean_acc = {m: (sum(fields[f][m]["accuracy"] for f in FIELDS) / len(FIELDS) if predictions[m] is not None
                    else None) for m in predictions}
    return {
        "fields": fields,
        "valid_json_rate": valid["model"],
        "zero_shot_valid_json_rate": valid.get("zero_shot"),
        "n_test": len(expected),
        "primary_metric": {"name": "mean_field_accuracy", "value": mean_acc["model"]},
        "mean_field_accuracy": mean_acc,
        "beats": beat,
        "beats_rule": BEATS_RULE,
        "timing": timing,
    }


def evaluate_tickets(adapter_dir: Path, data_dir: Path, out_dir: Path, *, recipe: Recipe | None = None,
                     progress: bool = True) -> dict:
    """Generate for ``data_dir/test.jsonl`` with the adapter (and zero-shot with its bare base), fit the baselines on
    ``data_dir/train.jsonl``, score everything per field, write the outputs; returns the report dict."""
    adapter_dir, data_dir, out_dir = Path(adapter_dir), Path(data_dir), Path(out_dir)
    t_start = time.perf_counter()
    meta = read_adapter_meta(adapter_dir)
    recipe = recipe or Recipe.model_validate(meta["recipe"])
    ev = recipe.eval
    test = sample_rows(read_split(data_dir / "test.jsonl"), ev.max_test_examples, recipe.train.seed)
    train = read_split(data_dir / "train.jsonl")
    expected = [_expected(r) for r in test]
    prompts = [r["messages"][:-1] for r in test]

    raw, timing_model = run_generation(adapter_dir, None, prompts, ev, progress)
    parsed = [parse_answer(t) for t in raw]
    zs_raw, zs_parsed, timing_zs = None, None, None
    if ev.zero_shot_baseline:
        zs_raw, timing_zs = run_generation(None, recipe.base_model, prompts, ev, progress)
        zs_parsed = [parse_answer(t) for t in zs_raw]
    t0 = time.perf_counter()
    preds: dict[str, dict | None] = {"model": _field_predictions(parsed),
                                     **_baseline_predictions(train, [_input_text(p) for p in prompts],
                                                             recipe.train.seed),
                                     "zero_shot": _field_predictions(zs_parsed) if zs_parsed is not None else None}
    timing = {"model": timing_model, "zero_shot": timing_zs, "baselines_s": round(time.perf_counter() - t0, 2)}
    valid = {"model": _valid_rate(parsed), "zero_shot": _valid_rate(zs_parsed) if zs_parsed is not None else None}
    report = build_report(expected, preds, valid, timing)
    report.update({"n_train": len(train), "adapter_dir": str(adapter_dir), "recipe_hash": recipe_hash(recipe),
                   "data": {s: sha256_file(data_dir / f"{s}.jsonl") for s in ("train", "test")},
                   "base_model": meta["base_model"]["identity"]})
    _write_outputs(out_dir, report, test, expected, raw, parsed, zs_raw, zs_parsed, preds["model"])
    report["timing"]["total_s"] = round(time.perf_counter() - t_start, 2)
    write_json(out_dir / "report.json", report)
    return report


def _valid_rate(parsed: list[dict | None]) -> float:
    return sum(p is not None for p in parsed) / len(parsed) if parsed else float("nan")


# --- outputs ---------------------------------------------------------------------------------------------------


def _write_outputs(out_dir: Path, report: dict, test: list[dict], expected: list[dict], raw: list[str],
                   parsed: list, zs_raw: list | None, zs_parsed: list | None, model_preds: dict) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for k, row in enumerate(test):
        item = {"id": row.get("id", k), "expected": expected[k], "predicted": parsed[k], "raw": raw[k],
                "valid_json": parsed[k] is not None}
        if zs_raw is not None:
            item.update({"zero_shot_predicted": zs_parsed[k], "zero_shot_raw": zs_raw[k]})
        rows.append(item)
    write_jsonl(out_dir / "predictions.jsonl", rows)
    images = [_confusion_png(out_dir, f, [e[f] for e in expected], model_preds[f]) for f in CONFUSION_FIELDS]
    images.append(_accuracy_png(out_dir, report))
    with atomic_write(out_dir / "report.md") as fh:
        fh.write(render_markdown(report, images))


def _confusion_png(out_dir: Path, field: str, truth: list, pred: list) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    labels, m = confusion(truth, pred, top_k=12)
    fig, ax = plt.subplots(figsize=(1.0 + 0.55 * len(labels), 1.0 + 0.5 * len(labels)))
    ax.imshow(m, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    for (i, j), v in np.ndenumerate(m):
        if v:
            ax.text(j, i, str(v), ha="center", va="center", fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"{field}: confusion (adapter)")
    name = f"confusion_{field}.png"
    _save_fig(fig, out_dir / name)
    return name


def _accuracy_png(out_dir: Path, report: dict) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    methods = [m for m in ("model", *BASELINES) if report["fields"][FIELDS[0]].get(m) is not None]
    x = np.arange(len(FIELDS))
    width = 0.8 / len(methods)
    fig, ax = plt.subplots(figsize=(9, 3.5))
    for k, m in enumerate(methods):
        ax.bar(x + k * width, [report["fields"][f][m]["accuracy"] for f in FIELDS], width, label=m)
    ax.set_xticks(x + width * (len(methods) - 1) / 2, FIELDS, fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_ylabel("accuracy")
    ax.legend(fontsize=8)
    name = "field_accuracy.png"
    _save_fig(fig, out_dir / name)
    return name


def _save_fig(fig, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    with atomic_write(path, mode="wb") as fh:
        fig.savefig(fh, format="png", dpi=110)
    plt.close(fig)


def _fmt(v) -> str:
    return "–" if v is None else f"{v:.3f}"


def render_markdown(report: dict, images: Sequence[str]) -> str:
    methods = [m for m in ("model", *BASELINES) if report["fields"][FIELDS[0]].get(m) is not None]
    lines = [
        "# Ticket extraction: evaluation report", "",
        (f"Test examples: {report['n_test']}. Valid JSON: {_fmt(report['valid_json_rate'])} (adapter), "
         f"{_fmt(report['zero_shot_valid_json_rate'])} (zero-shot base)."), "",
        f"Primary metric `{report['primary_metric']['name']}`: **{_fmt(report['primary_metric']['value'])}**; "
        + ", ".join(f"{m} {_fmt(v)}" for m, v in report["mean_field_accuracy"].items()), "",
        "| field | metric | " + " | ".join(methods) + " | adapter beats |",
        "|---|---|" + "---|" * len(methods) + "---|",
    ]
    for f in FIELDS:
        metrics = ["accuracy", "macro_f1"] + (["exact_match", "token_f1"] if f in FREE_TEXT_FIELDS else [])
        won = ", ".join(b for b, ok in report["beats"][f].items() if ok) or "none"
        for k, metric in enumerate(metrics):
            cells = " | ".join(_fmt(report["fields"][f][m][metric]) for m in methods)
            lines.append(f"| {f if k == 0 else ''} | {metric} | {cells} | {won if k == 0 else ''} |")
    lines += ["", f"Rule: {report['beats_rule']}.", "",
              (f"Categorical fields: {', '.join(CATEGORICAL_FIELDS)}; free text: {', '.join(FREE_TEXT_FIELDS)} "
               "(exact match and token F1 after normalisation)."), ""]
    lines += [f"![{name}]({name})" for name in images]
    return "\n".join(lines) + "\n"
