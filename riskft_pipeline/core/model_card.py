"""The model card of an adapter: ``README.md`` in the adapter folder, in the Hugging Face convention (YAML front
matter the Hub reads, then prose), written at training time and rewritten with the results after evaluation, so it
travels with the adapter into the registered version and to a hub (``riskft publish``).

What an auditor or a reviewer needs on one page: the base model and its weight hash, the data (file hashes, example
counts), the recipe, the metrics of the shipped predictor side by side with the baselines of the same run (and, in
words, any baseline it loses to), the intended use and the limitations. Pure: adapter metadata and report dicts in,
text out (no machine paths: a local base-model folder is named by its identity, not its location).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from riskft_pipeline.core.files import atomic_write
from riskft_pipeline.core.report_summary import baselines_beaten, method_scores
from riskft_pipeline.core.tasks import TASKS

CARD_FILE = "README.md"

# base models this project knows by a Hub id (the offline default is a GGUF conversion of this checkpoint)
HUB_IDS = {"offline:smollm2-135m-instruct": "HuggingFaceTB/SmolLM2-135M-Instruct"}

def _is_path(name: str) -> bool:
    return name.startswith(("/", ".", "~")) or "\\" in name or (":" in name and not name.startswith("offline:")) \
        or name.count("/") > 1


def base_model_id(identity: Mapping[str, Any]) -> str | None:
    """A Hub id for the front matter, or None when the base is a local folder (a path must not leak into a card)."""
    name = str(identity.get("name") or "")
    if name in HUB_IDS:
        return HUB_IDS[name]
    return name if name.count("/") == 1 and not _is_path(name) else None


def base_model_name(identity: Mapping[str, Any]) -> str:
    """How the card names the base: its name, or only the last part of a local folder's path."""
    name = str(identity.get("name") or "unknown")
    return f"local folder {name.replace(chr(92), '/').rstrip('/').rsplit('/', 1)[-1]}" if _is_path(name) else name


def render_card(meta: Mapping[str, Any], report: Mapping[str, Any] | None = None, *,
                model_name: str | None = None) -> str:
    """The card for an adapter's ``riskft_adapter.json`` metadata and, once evaluated, its report."""
    task = str(meta.get("task", "unknown"))
    spec = TASKS.get(task)
    identity = (meta.get("base_model") or {}).get("identity") or {}
    recipe = meta.get("recipe") or {}
    train = meta.get("train") or {}
    hub_id = base_model_id(identity)
    title = model_name or f"riskft {task} adapter"
    front = ["---", "library_name: peft", "pipeline_tag: text-generation"]
    if hub_id:
        front.append(f"base_model: {hub_id}")
    front += ["tags:", "- lora", "- peft", "- riskft", f"- riskft-{task}", "---", ""]
    lines = [f"# {title}", "", f"LoRA adapter trained by riskft_pipeline for the `{task}` task.", ""]
    lines += ["## Intended use", "", spec.intended_use if spec else "See the project README.", ""]
    lines += _evaluation(report)
    lines += ["## Base model", "",
              f"- name: `{base_model_name(identity)}`" + (f" (Hub: `{hub_id}`)" if hub_id else ""),
              f"- weights sha256: `{identity.get('weights_sha256', 'unknown')}`"]
    if identity.get("sha256"):
        lines.append(f"- source file sha256: `{identity['sha256']}`" + (f" ({identity['file']})"
                                                                          if identity.get("file") else ""))
    lines += ["", "## Training", "",
              f"- recipe: `{recipe.get('name', 'unknown')}` (hash `{meta.get('recipe_hash', 'unknown')}`)",
              (f"- LoRA: r={_get(recipe, 'lora', 'r')}, alpha={_get(recipe, 'lora', 'alpha')}, "
              f"targets {_get(recipe, 'lora', 'target_modules')}"),
              (f"- examples: {train.get('n_train_examples', '?')}, epochs {train.get('epochs', '?')}, steps "
              f"{train.get('steps', '?')}, learning rate {_get(recipe, 'train', 'learning_rate')}, seed "
              f"{train.get('seed', _get(recipe, 'train', 'seed'))}"),
              f"- training split sha256: `{train.get('train_file_sha256', 'unknown')}`",
              f"- final loss {_num(train.get('final_loss'))}; {train.get('tokens_per_s', '?')} tokens/s",
              f"- libraries: {_libs(train.get('library_versions'))}", ""]
    if report and report.get("data"):
        lines += ["## Data", "", *[f"- {split} split sha256: `{sha}`" for split, sha in report["data"].items()], ""]
    lines += ["## Limitations", "", spec.limitations if spec else "", ""]
    return "\n".join(front + lines)


def write_card(adapter_dir: str | Path, meta: Mapping[str, Any], report: Mapping[str, Any] | None = None, *,
                model_name: str | None = None) -> Path:
    """Write (or rewrite) ``README.md`` in the adapter folder; returns its path."""
    path = Path(adapter_dir) / CARD_FILE
    with atomic_write(path) as fh:
        fh.write(render_card(meta, report, model_name=model_name))
    return path


def _evaluation(report: Mapping[str, Any] | None) -> list[str]:
    if not report:
        return ["## Evaluation", "", "Not evaluated yet: the evaluation rewrites this card with its results.", ""]
    name = (report.get("primary_metric") or {}).get("name", "primary metric")
    shipped = report.get("shipped", "model")
    scores = method_scores(report)
    lines = ["## Evaluation", "",
             (f"Held-out test split ({report.get('n_test', '?')} examples), baselines fitted in the same run. "
             f"Shipped predictor: `{shipped}`."), "", f"| method | {name} |", "|---|---|"]
    for m, v in sorted(scores.items(), key=lambda kv: (kv[0] != shipped, kv[0] != "model", kv[0])):
        label = f"**{m}** (shipped)" if m == shipped else f"{m} (adapter alone)" if m == "model" else m
        lines.append(f"| {label} | {_num(v)} |")
    beaten, lost = baselines_beaten(report)
    lines.append("")
    if lost:
        lines.append(f"**The shipped predictor loses to {', '.join(lost)} on {name}.**")
    elif beaten:
        lines.append(f"The shipped predictor beats or ties every baseline on {name} ({', '.join(beaten)}).")
    if report.get("lm_contribution"):
        lines.append(str(report["lm_contribution"]))
    return lines + [""]


def _get(d: Mapping[str, Any], section: str, key: str) -> Any:
    return (d.get(section) or {}).get(key, "?")


def _num(v: Any) -> str:
    return f"{v:.4f}" if isinstance(v, (int, float)) else "–"


def _libs(versions: Any) -> str:
    if not isinstance(versions, Mapping) or not versions:
        return "unknown"
    return ", ".join(f"{k} {v}" for k, v in sorted(versions.items()))


def card_metadata(card: str) -> dict[str, Any]:
    """The front matter of a card as a dict (``tags`` a list): what a hub reads. Minimal YAML subset (this module's
    own output), so no YAML dependency is needed to check a card."""
    if not card.startswith("---\n"):
        return {}
    head = card[4:card.index("\n---", 4)]
    out: dict[str, Any] = {}
    key = None
    for line in head.splitlines():
        if line.startswith("- ") and key:
            out.setdefault(key, []).append(line[2:].strip())
        elif ":" in line:
            key, _, value = line.partition(":")
            key = key.strip()
            if value.strip():
                out[key] = value.strip()
    return out
