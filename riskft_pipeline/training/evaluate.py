"""Evaluate a ticket adapter by generating and parsing (not by token accuracy), side by side with baselines computed
in the same run on the same split: majority class, TF-IDF + logistic regression, and the base model zero-shot.

Writes ``report.json`` (the shape scripts read), ``report.md`` (tables + plots), ``predictions.jsonl`` and confusion
PNGs into ``out_dir``; every file is written atomically and ``report.json`` last.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from riskft_pipeline.core import fusion
from riskft_pipeline.core.baselines import majority_baseline, tfidf_lr_fields, tfidf_lr_proba_fields
from riskft_pipeline.core.config import BaseModelConfig, EvalConfig, Recipe, recipe_hash
from riskft_pipeline.core.errors import InputError
from riskft_pipeline.core.files import atomic_write, sha256_file, write_json, write_jsonl
from riskft_pipeline.core.metrics import confusion, field_scores
from riskft_pipeline.core.model_card import write_card
from riskft_pipeline.core.progress import ProgressFn, as_progress, stage
from riskft_pipeline.core.tickets.prompts import (
    CATEGORICAL_FIELDS,
    FIELDS,
    FREE_TEXT_FIELDS,
    parse_answer,
    user_text,
)
from riskft_pipeline.training.infer import generate, load_for_inference, read_adapter_meta
from riskft_pipeline.training.sft import read_split, sample_rows

BASELINES = ("majority", "tfidf_lr", "zero_shot")
SHIPPED = "fused"  # the predictor that is registered and used by enrichment: adapter + TF-IDF/LR, late fusion
REVIEW_PRECISION = 0.95
SYSTEM_CHOICE = "grounded"  # software_system: chosen among the generated value and the known systems a ticket names
PREDICTOR_FILE = "predictor.json"
CONFUSION_FIELDS = ("category", "subcategory")
BEATS_RULE = ("the adapter beats a baseline on a field when its accuracy is at least the baseline's and it is "
              "strictly better on accuracy or on macro-F1")


# --- inputs ----------------------------------------------------------------------------------------------------


def _expected(row: dict) -> dict:
    answer = parse_answer(row["messages"][-1].get("content"))
    if answer is None:
        raise InputError(f"test example {row.get('id')!r}: the assistant turn is not a ticket answer JSON")
    return answer


# --- model runs ------------------------------------------------------------------------------------------------


def run_generation(adapter_dir: Path | None, base_cfg: BaseModelConfig | None, prompts: list, ev: EvalConfig,
                   progress: Callable[[int, int], None] | None) -> tuple[list[str], dict]:
    """Load (adapter or bare base), generate for every prompt, free the model; returns texts and timings.
    ``progress(done, total)``: prompts answered so far."""
    t0 = time.perf_counter()
    model, tokenizer = load_for_inference(adapter_dir, base_cfg, merge=ev.merge_adapter)
    t1 = time.perf_counter()
    texts = generate(model, tokenizer, prompts, batch_size=ev.batch_size, max_new_tokens=ev.max_new_tokens,
                     progress=False, on_progress=progress)
    t2 = time.perf_counter()
    del model
    gc.collect()
    return texts, {"load_s": round(t1 - t0, 2), "generate_s": round(t2 - t1, 2),
                   "examples_per_s": round(len(prompts) / (t2 - t1), 3) if t2 > t1 else None}


def _field_predictions(parsed: list[dict | None]) -> dict[str, list]:
    return {f: [p.get(f) if p else None for p in parsed] for f in FIELDS}


def _baseline_predictions(train: list[dict], test_texts: list[str], seed: int) -> dict[str, dict[str, list]]:
    train_answers = [_expected(r) for r in train]
    train_texts = [user_text(r["messages"][:-1]) for r in train]
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
    """The report dict from per-method field predictions (``predictions[method][field]``); pure.

    The primary metric and ``beats`` are the shipped predictor's (``fused`` when present, else the adapter
    ``model``); with fusion, ``adapter_beats`` says the same of the adapter alone."""
    shipped = SHIPPED if predictions.get(SHIPPED) is not None else "model"
    fields, beat, adapter_beat = {}, {}, {}
    for f in FIELDS:
        truth = [e[f] for e in expected]
        free = f in FREE_TEXT_FIELDS
        fields[f] = {m: (field_scores(truth, preds[f], free_text=free) if preds is not None else None)
                     for m, preds in predictions.items()}
        beat[f] = {b: beats(fields[f][shipped], fields[f].get(b)) for b in BASELINES if b in predictions}
        adapter_beat[f] = {b: beats(fields[f]["model"], fields[f].get(b)) for b in BASELINES if b in predictions}
    mean_acc = {m: (sum(fields[f][m]["accuracy"] for f in FIELDS) / len(FIELDS) if predictions[m] is not None
                    else None) for m in predictions}
    report = {
        "fields": fields,
        "valid_json_rate": valid["model"],
        "zero_shot_valid_json_rate": valid.get("zero_shot"),
        "n_test": len(expected),
        "shipped": shipped,
        "primary_metric": {"name": "mean_field_accuracy", "value": mean_acc[shipped]},
        "mean_field_accuracy": mean_acc,
        "beats": beat,
        "beats_rule": BEATS_RULE,
        "timing": timing,
    }
    if shipped != "model":
        report["adapter_beats"] = adapter_beat
    return report


def evaluate_tickets(adapter_dir: Path, data_dir: Path, out_dir: Path, *, recipe: Recipe | None = None,
                     progress: bool | ProgressFn = True) -> dict:
    """Score ``data_dir``'s validation and test tickets with the adapter (categorical fields chosen among the
    training labels, free text generated), fit TF-IDF + LR on ``train.jsonl``, choose each field's fusion weight and
    review threshold on validation, score everything (adapter alone, fused, baselines, zero-shot base) on test,
    write the outputs (``predictor.json``: what the shipped predictor needs besides the adapter and the training
    split); returns the report dict.

    ``progress``: ``progress(stage, done, total)`` after each batch of the model's stages (``score test``, ``score
    val``, ``zero-shot test``), 0 first; ``True``: throttled lines on stderr; ``False``: nothing."""
    adapter_dir, data_dir, out_dir = Path(adapter_dir), Path(data_dir), Path(out_dir)
    report_progress = as_progress(progress)
    t_start = time.perf_counter()
    meta = read_adapter_meta(adapter_dir)
    recipe = recipe or Recipe.model_validate(meta["recipe"])
    ev, seed = recipe.eval, recipe.train.seed
    test = sample_rows(read_split(data_dir / "test.jsonl"), ev.max_test_examples, seed)
    val = sample_rows(read_split(data_dir / "val.jsonl"), ev.max_test_examples, seed)
    train = read_split(data_dir / "train.jsonl")
    expected, expected_val = [_expected(r) for r in test], [_expected(r) for r in val]
    prompts, prompts_val = [r["messages"][:-1] for r in test], [r["messages"][:-1] for r in val]

    t0 = time.perf_counter()
    tabular = fit_tabular(train, {"val": prompts_val, "test": prompts}, seed)
    space = {f: tabular[f][0] for f in CATEGORICAL_FIELDS}
    # the adapter's own training setting, whatever recipe this evaluation runs under (a champion re-evaluated
    # with a candidate's recipe must still read the prompts it was trained on)
    retrieval_k = Recipe.model_validate(meta["recipe"]).train.retrieval_k
    hinted = hinted_prompts(train, {"test": prompts, "val": prompts_val}, retrieval_k)
    timing_tab = round(time.perf_counter() - t0, 2)
    chosen, chosen_val, timing_model = run_choice(adapter_dir, hinted, space, ev, report_progress,
                                                  systems=system_names(train))
    predictor = fit_predictor(space, tabular, chosen_val, expected_val)
    predictor.update({"retrieval_k": retrieval_k, "seed": seed, "system_choice": SYSTEM_CHOICE})
    fused = fused_answers(predictor, chosen, {f: tabular[f][1]["test"] for f in CATEGORICAL_FIELDS})

    zs_raw, zs_parsed, timing_zs = None, None, None
    if ev.zero_shot_baseline:
        zs_raw, timing_zs = run_generation(None, recipe.base_model, prompts, ev,
                                           stage(report_progress, "zero-shot test"))
        zs_parsed = [parse_answer(t) for t in zs_raw]
    t0 = time.perf_counter()
    model_answers = adapter_answers(predictor, chosen)
    preds: dict[str, dict | None] = {"model": _field_predictions(model_answers),
                                     SHIPPED: _field_predictions([a for a, _ in fused]),
                                     **_baseline_predictions(train, [user_text(p) for p in prompts], seed),
                                     "zero_shot": _field_predictions(zs_parsed) if zs_parsed is not None else None}
    timing = {"model": timing_model, "zero_shot": timing_zs, "tabular_s": timing_tab,
              "baselines_s": round(time.perf_counter() - t0, 2)}
    valid = {"model": _valid_rate(model_answers), "zero_shot": _valid_rate(zs_parsed) if zs_parsed is not None else None}
    report = build_report(expected, preds, valid, timing)
    report.update(shipped_sections(predictor, expected, chosen, fused, preds,
                                   {f: tabular[f][1]["test"] for f in CATEGORICAL_FIELDS}, seed))
    report.update({"n_train": len(train), "n_val": len(val), "adapter_dir": str(adapter_dir),
                   "recipe_hash": recipe_hash(recipe),
                   "data": {s: sha256_file(data_dir / f"{s}.jsonl") for s in ("train", "val", "test")},
                   "base_model": meta["base_model"]["identity"]})
    report["predictor"] = predictor  # what registration ships besides the adapter and the training split
    write_json(out_dir / PREDICTOR_FILE, predictor)
    _write_outputs(out_dir, report, test, expected, chosen, model_answers, fused, zs_raw, zs_parsed, preds[SHIPPED])
    report["timing"]["total_s"] = round(time.perf_counter() - t_start, 2)
    write_card(adapter_dir, meta, report)  # the adapter's README.md now states what it scored against the baselines
    write_json(out_dir / "report.json", report)
    return report


# --- the shipped predictor: adapter + tabular model, fused -------------------------------------------------------


def fit_tabular(train: list[dict], prompts: dict[str, list], seed: int) -> dict:
    """TF-IDF + LR per categorical field, fitted on the training tickets; probabilities for each prompt list."""
    answers = [_expected(r) for r in train]
    return tfidf_lr_proba_fields([user_text(r["messages"][:-1]) for r in train],
                                 {f: [a[f] for a in answers] for f in CATEGORICAL_FIELDS},
                                 {k: [user_text(p) for p in ps] for k, ps in prompts.items()}, seed=seed)


def system_names(train: list[dict]):
    """The training split's software systems, and which of them a ticket names (:class:`SystemNames`)."""
    from riskft_pipeline.core.tickets.choices import SystemNames

    return SystemNames([user_text(r["messages"][:-1]) for r in train], [_expected(r)["software_system"] for r in train])


def hinted_prompts(train: list[dict], prompts: dict[str, list], k: int) -> dict[str, list]:
    """The adapter's prompts: with the labels of the ``k`` most similar training tickets when the recipe trained it
    so (``train.retrieval_k``); the baselines always read the plain ticket."""
    if k <= 0:
        return prompts
    from riskft_pipeline.core.tickets.retrieval import TicketIndex, add_hints

    index = TicketIndex(train)
    return {name: add_hints(ps, index, k) for name, ps in prompts.items()}


def run_choice(adapter_dir: Path, prompts: dict[str, list], space: dict, ev: EvalConfig,
               progress: ProgressFn | None, systems=None) -> tuple[list, list, dict]:
    """Load the adapter, choose/generate answers for the test prompts (``software_system`` chosen among
    ``systems``' candidates when given) and choose the validation ones' categorical fields (stages ``score test``,
    ``score val`` of ``progress``), free the model."""
    from riskft_pipeline.training.choose import choose_answers

    t0 = time.perf_counter()
    model, tokenizer = load_for_inference(adapter_dir, None, merge=ev.merge_adapter)
    t1 = time.perf_counter()
    out, timings = {}, {"load_s": round(t1 - t0, 2)}
    for name in ("test", "val"):  # validation's free text is read by nothing: not generated
        out[name], timings[name] = choose_answers(model, tokenizer, prompts[name], space,
                                                  batch_size=ev.batch_size, max_new_tokens=ev.max_new_tokens,
                                                  progress=stage(progress, f"score {name}"),
                                                  free_text=name == "test", systems=systems)
    del model
    gc.collect()
    t2 = time.perf_counter()
    timings.update({"score_s": round(t2 - t1, 2),
                    "examples_per_s": round((len(prompts["test"]) + len(prompts["val"])) / (t2 - t1), 3)
                    if t2 > t1 else None})
    return out["test"], out["val"], timings


def progress_printer(label: str, unit: str = "examples") -> Callable[[int, int], None]:
    """A ``(done, total)`` callback that prints throttled progress lines (:class:`ProgressLines`) to stderr."""
    return stage(as_progress(True, unit), label)


def _label_index(space: list, value) -> int:
    return space.index(value) if value in space else -1


def fit_predictor(space: dict, tabular: dict, chosen_val: list, expected_val: list[dict]) -> dict:
    """Everything chosen on validation: each field's fusion weight and its review threshold (the fused top
    probability at which validation precision reaches :data:`REVIEW_PRECISION`). JSON-ready."""
    fields = {}
    for f in CATEGORICAL_FIELDS:
        y = [_label_index(space[f], e[f]) for e in expected_val]
        power = choose_length_power(chosen_val, f, y, len(space[f]))
        p_model = _adapter_dists(chosen_val, f, power, len(space[f]))
        p_tab = tabular[f][1]["val"]
        choice = fusion.choose_pool_weight(y, p_model, p_tab)
        p = fusion.linear_pool(p_model, p_tab, choice.weight)
        correct = p.argmax(axis=1) == np.array(y)
        review = fusion.precision_threshold(p.max(axis=1), correct, REVIEW_PRECISION)
        fields[f] = {"labels": space[f], "length_power": power, "weight": choice.weight,
                     "val_accuracy": round(choice.val_score, 4),
                     "val_log_loss": round(choice.val_tiebreak, 4), "review": review.to_dict()}
    return {"kind": "ticket-fusion", "fields": fields, "n_val": len(expected_val),
            "rule": "p = w*p_adapter + (1-w)*p_tfidf_lr per categorical field; w maximises validation accuracy "
                    "(ties: lower validation log-loss, then more weight on TF-IDF+LR); free-text fields from the "
                    "adapter (software_system chosen among its generated value and the training systems the ticket "
                    "names); a field needs review when its fused probability is below the validation threshold "
                    f"for {REVIEW_PRECISION:.0%} precision"}


LENGTH_POWERS = (0.0, 0.5, 1.0)


def _adapter_dists(chosen: list, field: str, power: float, n_labels: int) -> np.ndarray:
    return np.array([c.distribution(field, power) for c in chosen]).reshape(len(chosen), n_labels)


def choose_length_power(chosen_val: list, field: str, y: list[int], n_labels: int) -> float:
    """The length normalisation of the adapter's candidate scores with the best validation accuracy (ties: the
    smaller power). A plain sequence sum favours short candidates (``null`` is 2 tokens, a group name 6-8): on the
    shared sample's assignment groups power 0 / .5 / 1 gave .32 / .72 / .40, on its categories .5 cost .73."""
    y_arr = np.array(y)
    acc = {p: float((_adapter_dists(chosen_val, field, p, n_labels).argmax(axis=1) == y_arr).mean())
           if len(y_arr) else 0.0 for p in LENGTH_POWERS}
    return max(LENGTH_POWERS, key=lambda p: (acc[p], -p))


def adapter_answers(predictor: dict, chosen: list) -> list[dict]:
    """The adapter alone: each categorical field the argmax of its distribution at the field's chosen length power."""
    out = []
    for c in chosen:
        answer = dict(c.answer)
        for f, spec in predictor["fields"].items():
            answer[f] = spec["labels"][int(c.distribution(f, spec.get("length_power", 0.0)).argmax())]
        out.append(answer)
    return out


def fused_answers(predictor: dict, chosen: list, p_tab: dict[str, np.ndarray]) -> list[tuple[dict, dict]]:
    """The shipped predictor's answer per ticket and each categorical field's fused probability."""
    out = []
    for k, c in enumerate(chosen):
        answer, conf = dict(c.answer), {}
        for f, spec in predictor["fields"].items():
            p_model = c.distribution(f, spec.get("length_power", 0.0))
            p = fusion.linear_pool(p_model[None, :], p_tab[f][k][None, :], spec["weight"])[0]
            answer[f] = spec["labels"][int(p.argmax())]
            conf[f] = float(p.max())
        out.append((answer, conf))
    return out


def shipped_sections(predictor: dict, expected: list[dict], chosen: list, fused: list, preds: dict,
                     p_tab: dict[str, np.ndarray], seed: int) -> dict:
    """Calibration, selective prediction and the paired-bootstrap margins of the report (test split)."""
    calibration, review, margins = {}, {}, {}
    n = len(expected)
    for f in CATEGORICAL_FIELDS:
        truth = [e[f] for e in expected]
        spec = predictor["fields"][f]
        power = spec.get("length_power", 0.0)
        conf = {"model": [float(c.distribution(f, power).max()) for c in chosen],
                SHIPPED: [fc[f] for _, fc in fused], "tfidf_lr": [float(p.max()) for p in p_tab[f]]}
        correct = {m: [p == t for p, t in zip(preds[m][f], truth)] for m in conf}
        calibration[f] = {m: round(fusion.expected_calibration_error(conf[m], correct[m]), 4) for m in conf}
        review[f] = {"threshold": spec["review"]["threshold"], "val_precision": spec["review"]["val_precision"],
                     **fusion.selective_scores(conf[SHIPPED], correct[SHIPPED], spec["review"]["threshold"])}
    for name in (SHIPPED, "model"):
        margins[f"{name}_minus_tfidf_lr"] = {
            f: fusion.paired_bootstrap(fusion.accuracy_diff([e[f] for e in expected], preds[name][f],
                                                            preds["tfidf_lr"][f]), n, seed=seed)
            for f in CATEGORICAL_FIELDS}
        margins[f"{name}_minus_tfidf_lr"]["mean_field_accuracy"] = fusion.paired_bootstrap(
            _mean_accuracy_diff(expected, preds[name], preds["tfidf_lr"]), n, seed=seed)
    lm = margins[f"{SHIPPED}_minus_tfidf_lr"]["mean_field_accuracy"]
    adds = lm["lo"] is not None and lm["lo"] > 0
    sentence = (f"The language model {'adds' if adds else 'does not clearly add'} accuracy over TF-IDF + LR on this "
                f"run: fused minus TF-IDF+LR mean field accuracy {lm['diff']:+.3f} (95% paired bootstrap "
                f"{_fmt(lm['lo'])} to {_fmt(lm['hi'])}, {n} test tickets).")
    return {"fusion": {f: {k: v for k, v in spec.items() if k != "labels"} | {"n_labels": len(spec["labels"])}
                       for f, spec in predictor["fields"].items()},
            "calibration_ece": calibration, "review": review, "margins": margins, "lm_contribution": sentence,
            "free_text_parse_rate": round(sum(c.free_text_parsed for c in chosen) / max(n, 1), 4)}


def _mean_accuracy_diff(expected: list[dict], a: dict, b: dict):
    truth = {f: [e[f] for e in expected] for f in FIELDS}
    ok_a = np.array([[x == t for x, t in zip(a[f], truth[f])] for f in FIELDS], dtype=float).mean(axis=0)
    ok_b = np.array([[x == t for x, t in zip(b[f], truth[f])] for f in FIELDS], dtype=float).mean(axis=0)
    return lambda idx: float(ok_a[idx].mean() - ok_b[idx].mean())


def _valid_rate(parsed: list[dict | None]) -> float:
    return sum(p is not None for p in parsed) / len(parsed) if parsed else float("nan")


# --- outputs ---------------------------------------------------------------------------------------------------


def _write_outputs(out_dir: Path, report: dict, test: list[dict], expected: list[dict], chosen: list,
                   model_answers: list[dict], fused: list, zs_raw: list | None, zs_parsed: list | None, shipped_preds: dict) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for k, row in enumerate(test):
        answer, conf = fused[k]
        item = {"id": row.get("id", k), "expected": expected[k], "predicted": answer,
                "confidence": {f: round(v, 4) for f, v in conf.items()}, "adapter_predicted": model_answers[k],
                "raw": chosen[k].free_text_raw, "software_system_generated": chosen[k].system_generated,
                "valid_json": True}
        if zs_raw is not None:
            item.update({"zero_shot_predicted": zs_parsed[k], "zero_shot_raw": zs_raw[k]})
        rows.append(item)
    write_jsonl(out_dir / "predictions.jsonl", rows)
    images = [_confusion_png(out_dir, f, [e[f] for e in expected], shipped_preds[f]) for f in CONFUSION_FIELDS]
    images.append(_accuracy_png(out_dir, report))
    with atomic_write(out_dir / "report.md") as fh:
        fh.write(render_markdown(report, images))


def _confusion_png(out_dir: Path, field: str, truth: list, pred: list) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
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
    ax.set_title(f"{field}: confusion (shipped predictor)")
    name = f"confusion_{field}.png"
    _save_fig(fig, out_dir / name)
    return name


def _accuracy_png(out_dir: Path, report: dict) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    methods = [m for m in ("model", SHIPPED, *BASELINES) if report["fields"][FIELDS[0]].get(m) is not None]
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
    methods = [m for m in ("model", SHIPPED, *BASELINES) if report["fields"][FIELDS[0]].get(m) is not None]
    shipped = report.get("shipped", "model")
    lines = [
        "# Ticket extraction: evaluation report", "",
        (f"Test examples: {report['n_test']}. Valid JSON: {_fmt(report['valid_json_rate'])} (adapter), "
         f"{_fmt(report['zero_shot_valid_json_rate'])} (zero-shot base)."), "",
        f"Primary metric `{report['primary_metric']['name']}` ({shipped}): "
        f"**{_fmt(report['primary_metric']['value'])}**; "
        + ", ".join(f"{m} {_fmt(v)}" for m, v in report["mean_field_accuracy"].items()), "",
    ]
    if report.get("lm_contribution"):
        lines += [report["lm_contribution"], "",
                  ("`model` is the adapter alone (categorical fields chosen among the training labels by sequence "
                  "probability, free text generated, software_system then chosen among the generated value and "
                  "the training systems the ticket names); `fused` is the shipped predictor (adapter and TF-IDF+LR "
                  "probabilities pooled with a per-field weight chosen on validation)."), ""]
    lines += ["| field | metric | " + " | ".join(methods) + f" | {shipped} beats |",
              "|---|---|" + "---|" * len(methods) + "---|"]
    for f in FIELDS:
        metrics = ["accuracy", "macro_f1"] + (["exact_match", "token_f1"] if f in FREE_TEXT_FIELDS else [])
        won = ", ".join(b for b, ok in report["beats"][f].items() if ok) or "none"
        for k, metric in enumerate(metrics):
            cells = " | ".join(_fmt(report["fields"][f][m][metric]) for m in methods)
            lines.append(f"| {f if k == 0 else ''} | {metric} | {cells} | {won if k == 0 else ''} |")
    lines += ["", f"Rule: {report['beats_rule']}.", "",
              (f"Categorical fields: {', '.join(CATEGORICAL_FIELDS)}; free text: {', '.join(FREE_TEXT_FIELDS)} "
               "(exact match and token F1 after normalisation)."), ""]
    if report.get("fusion"):
        margins = report["margins"]
        lines += ["## Shipped predictor, field by field", "",
                  ("| field | fusion weight (adapter) | fused − TF-IDF+LR acc. [95% CI] | adapter − TF-IDF+LR [95% CI] "
                  "| ECE adapter / fused / TF-IDF+LR | review threshold | coverage at it | precision at it |"),
                  "|---|---|---|---|---|---|---|---|"]
        for f, spec in report["fusion"].items():
            ece, rv = report["calibration_ece"][f], report["review"][f]
            lines.append(
                f"| {f} | {spec['weight']:.2f} | {_ci(margins[f'{SHIPPED}_minus_tfidf_lr'][f])} | "
                f"{_ci(margins['model_minus_tfidf_lr'][f])} | {_fmt(ece['model'])} / {_fmt(ece[SHIPPED])} / "
                f"{_fmt(ece['tfidf_lr'])} | {_fmt(rv['threshold'])} | {_fmt(rv['coverage'])} | "
                f"{_fmt(rv['precision'])} |")
        lines += ["", (f"Mean field accuracy, fused − TF-IDF+LR: "
                  f"{_ci(margins[f'{SHIPPED}_minus_tfidf_lr']['mean_field_accuracy'])}; adapter alone − TF-IDF+LR: "
                  f"{_ci(margins['model_minus_tfidf_lr']['mean_field_accuracy'])}."), "",
                  (f"Weights and review thresholds were chosen on {report.get('n_val', '?')} validation tickets; "
                  f"coverage = share of test tickets whose field is filled in without review (target precision "
                  f"{REVIEW_PRECISION:.0%})."), ""]
    lines += [f"![{name}]({name})" for name in images]
    return "\n".join(lines) + "\n"


def _ci(m: dict) -> str:
    return f"{m['diff']:+.3f} [{_fmt(m['lo'])}, {_fmt(m['hi'])}]"
