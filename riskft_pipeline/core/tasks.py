"""What a *task* is: one :class:`TaskSpec` per task and the one registry :data:`TASKS`.

Every per-task name and function the project uses lives here (the CLI's chain name, the Dagster asset, job and
schedule names, the registered model and experiment, the default recipe and input, the incoming-file patterns, the
enrichment file kind and columns) and every other module looks it up (``TASKS[recipe.task]``, :func:`task_spec`,
:func:`by_enrich_kind`, :func:`incoming_kind`) instead of dispatching on a task's name. Adding a task (incident
prediction, root-cause analysis) is one more :class:`TaskSpec`, its functions and its data assets.

The names users hold state under (asset keys, job names, registered models, experiments) are the ones the project
always had: they are written down once, here, or derived here from ``name`` / ``prefix``.

Pure: the functions of other layers (training, enrichment, the Dagster data assets) are held as :class:`Ref`, a
module and attribute imported when first used (like a packaging entry point), so this module imports nothing but the
standard library and :mod:`core.errors`, and any layer may read the registry. ``riskft_pipeline_tests/core/test_tasks.py`` resolves every
reference.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from riskft_pipeline.core.errors import InputError


@dataclass(frozen=True)
class Ref:
    """A function (or object) named by module and attribute, imported on first use."""

    module: str
    name: str

    def load(self) -> Any:
        return getattr(importlib.import_module(self.module), self.name)

    def __call__(self, *args, **kwargs):
        return self.load()(*args, **kwargs)

    def __str__(self) -> str:
        return f"{self.module}:{self.name}"


@dataclass(frozen=True)
class IncomingKind:
    """A kind of file the incoming folder accepts for a task's history."""

    kind: str  # tickets | changes | incidents: history/<kind>.csv
    pattern: str  # file-name pattern, lower case
    key: str  # the id column: the first arrival of an id wins (mined batches replace: incoming.replaces_rows)
    validate: Ref  # (path) -> incoming.Validated; raises InputError for an unusable file


@dataclass(frozen=True)
class TaskSpec:
    """One task: its names, defaults and functions."""

    name: str  # the CLI's chain name, the recipe's ``task``, the Dagster group, runs/<name>/
    prefix: str  # model assets: <prefix>_adapter, <prefix>_eval_report, <prefix>_model_version
    title: str  # for descriptions: "ticket", "change-risk"
    model_name: str  # registered model (the recipes' register.model_name)
    experiment: str  # MLflow experiment of the training runs
    default_recipe: str  # file name in configs/
    default_input: str  # file name in the embedded data folder
    raw_asset: str
    clean_asset: str
    splits_asset: str
    recipe_assets: tuple[str, ...]  # assets that read the run's recipe (``--recipe`` sets their config)
    data_job: str | None  # a job of the data assets only, or None
    nightly_cron: str
    incoming: tuple[IncomingKind, ...]  # files that feed this task's history
    enrich_kind: str  # ``riskft enrich <kind>``, enriched_<kind>, enrich_<kind>, <kind>*.csv in incoming/enrich/
    enrich_help: str
    enrich_options: tuple[str, ...]  # extra keyword options of ``enrich`` (the asset's config, the CLI flags)
    enrich_columns: Ref  # () -> (required columns, columns used when present) of a file to enrich
    intended_use: str  # the model card's "Intended use"
    limitations: str  # the model card's "Limitations"
    predictor_kind: str  # ``predictor.json``'s kind for this task's shipped predictor
    context_files: tuple[str, ...]  # files of the prepared data the model needs at load time (artifact)
    predictor_ships_train_split: bool  # the shipped predictor refits its tabular half from train.jsonl
    score_in_fp32: bool  # inference loads the base in fp32 (scores compared by AUC)
    retrieval_hints: bool  # training prompts may carry labels of similar training rows (train.retrieval_k)
    needs_risk_section: bool  # the recipe's ``risk:`` section applies (defaults filled in when absent)
    prepare: Ref  # (input_path, out_dir, recipe) -> summary (pure: core/prepare.py)
    evaluate: Ref  # (adapter_dir, data_dir, out_dir, *, recipe, progress) -> report
    enrich: Ref  # (input_csv, out_csv, *, model, loaded, batch_size, progress, tracking_uri, **options) -> summary
    history_input: Ref  # (history_dir) -> (file to train on | None, labelling summary)
    pyfunc_signature: Ref  # () -> mlflow ModelSignature of the registered model
    data_assets: Ref  # the Dagster data half: defs.chain.DataAssets (raw → clean → splits, their checks)
    mined_kind: str | None = None  # the incoming kind a watched git repository is mined into (RISKFT_WATCH_REPO)

    # --- names derived in one place ------------------------------------------------------------------------------

    @property
    def adapter_asset(self) -> str:
        return f"{self.prefix}_adapter"

    @property
    def eval_report_asset(self) -> str:
        return f"{self.prefix}_eval_report"

    @property
    def model_version_asset(self) -> str:
        return f"{self.prefix}_model_version"

    @property
    def job_name(self) -> str:
        return f"{self.name}_chain"

    @property
    def schedule_name(self) -> str:
        return f"nightly_{self.name}"

    @property
    def enriched_asset(self) -> str:
        return f"enriched_{self.enrich_kind}"

    @property
    def enrich_job(self) -> str:
        return f"enrich_{self.enrich_kind}"

    @property
    def enrich_pattern(self) -> str:
        return f"{self.enrich_kind}*.csv"

    @property
    def watch_sensor(self) -> str:
        """The sensor on ``RISKFT_WATCH_REPO`` (only for a spec with a ``mined_kind``)."""
        return f"{self.name}_watch_repo"

    @property
    def mine_job(self) -> str:
        """The job that mines the watched repository into the incoming folder."""
        return f"{self.name}_mine_repo"

    @property
    def champion_uri(self) -> str:
        return f"models:/{self.model_name}@champion"

    @property
    def pyfunc_code(self) -> str:
        """The models-from-code file in ``tracking/model_code/``."""
        return f"{self.name}.py"


# --- the registry ------------------------------------------------------------------------------------------------------

TICKETS = TaskSpec(
    name="tickets", prefix="ticket", title="ticket", model_name="ticket-extractor", experiment="ticket-extractor",
    default_recipe="tickets_cpu.yaml", default_input="tickets.csv",
    raw_asset="raw_tickets", clean_asset="clean_tickets", splits_asset="ticket_splits",
    recipe_assets=("ticket_adapter",), data_job="ticket_data", nightly_cron="0 2 * * *",
    incoming=(IncomingKind("tickets", "tickets*.csv", "number", Ref("riskft_pipeline.incoming", "validate_tickets")),),
    enrich_kind="tickets", enrich_help="predicted fields + per-field confidence for each ticket", enrich_options=(),
    enrich_columns=Ref("riskft_pipeline.enrich", "ticket_input_columns"),
    intended_use=("Fill in the structured fields of a new IT service-desk ticket (type, category, subcategory, "
        "assignment group, software/system, issue/request) from its text, for triage. Fields below their "
        "validated confidence threshold are marked for review (`needs_review`)."),
    limitations=("Trained on one organisation's ticket history: labels it never saw cannot be predicted, and a "
        "change in categories or teams needs retraining. Free-text fields are generated and may paraphrase. "
        "PII is redacted before training, but do not feed it secrets."),
    predictor_kind="ticket-fusion", context_files=(), predictor_ships_train_split=True, score_in_fp32=False,
    retrieval_hints=True, needs_risk_section=False,
    prepare=Ref("riskft_pipeline.core.prepare", "prepare_tickets"),
    evaluate=Ref("riskft_pipeline.training.evaluate", "evaluate_tickets"),
    enrich=Ref("riskft_pipeline.enrich", "enrich_tickets_file"),
    history_input=Ref("riskft_pipeline.incoming", "ticket_history_input"),
    pyfunc_signature=Ref("riskft_pipeline.tracking.pyfunc", "ticket_signature"),
    data_assets=Ref("riskft_pipeline.defs.tickets", "data"),
)

RISK = TaskSpec(
    name="risk", prefix="risk", title="change-risk", model_name="change-risk", experiment="change-risk",
    default_recipe="risk_cpu.yaml", default_input="changes.csv",
    raw_asset="raw_changes", clean_asset="change_features", splits_asset="risk_splits",
    recipe_assets=("risk_splits", "risk_adapter"), data_job=None, nightly_cron="30 2 * * *",
    incoming=(IncomingKind("changes", "changes*.csv", "_id", Ref("riskft_pipeline.incoming", "validate_changes")),
              IncomingKind("incidents", "incidents*.csv", "number",
                           Ref("riskft_pipeline.incoming", "validate_incidents"))),
    enrich_kind="changes", enrich_help="risk tier, score and justification for each change",
    enrich_options=("justify",), enrich_columns=Ref("riskft_pipeline.enrich", "change_input_columns"),
    intended_use=("Rank new code changes by the risk that they induce a defect, give each a tier (low/medium/high), a "
        "review zone (riskiest 5/10/20%) and a justification citing only facts of the change, so reviewers "
        "know which changes need a closer look."),
    limitations=("Labels come from heuristics (SZZ blame of bug-fixing commits, or incident links): they miss defects "
        "never fixed and blame some innocent lines; the newest changes are under-labelled. Scores rank changes "
        "within the history it was trained on; they are not calibrated defect probabilities for another "
        "repository. Use it to prioritise review, never to skip it."),
    predictor_kind="risk-fusion", context_files=("history_stats.json", "tier_definition.json"),
    predictor_ships_train_split=False, score_in_fp32=True, retrieval_hints=False,
    needs_risk_section=True,
    prepare=Ref("riskft_pipeline.core.prepare", "prepare_changes"),
    evaluate=Ref("riskft_pipeline.training.evaluate_risk", "evaluate_risk"),
    enrich=Ref("riskft_pipeline.enrich", "enrich_changes_file"),
    history_input=Ref("riskft_pipeline.incoming", "risk_history_input"),
    pyfunc_signature=Ref("riskft_pipeline.tracking.pyfunc", "risk_signature"),
    data_assets=Ref("riskft_pipeline.defs.risk", "data"),
    mined_kind="changes",
)

TASKS: dict[str, TaskSpec] = {spec.name: spec for spec in (TICKETS, RISK)}


class UnknownTask(InputError):
    """A task name, enrichment kind or incoming kind no spec has."""


def task_spec(name: str) -> TaskSpec:
    try:
        return TASKS[name]
    except KeyError:
        raise UnknownTask(f"unknown task {name!r} (known: {', '.join(TASKS)})") from None


def by_enrich_kind(kind: str) -> TaskSpec:
    for spec in TASKS.values():
        if spec.enrich_kind == kind:
            return spec
    raise UnknownTask(f"unknown enrichment kind {kind!r} (known: {', '.join(s.enrich_kind for s in TASKS.values())})")


def incoming_kinds() -> dict[str, tuple[TaskSpec, IncomingKind]]:
    """Every kind of incoming file, with the task whose history it feeds."""
    return {k.kind: (spec, k) for spec in TASKS.values() for k in spec.incoming}


def incoming_kind(kind: str) -> tuple[TaskSpec, IncomingKind]:
    try:
        return incoming_kinds()[kind]
    except KeyError:
        raise UnknownTask(f"unknown incoming file kind {kind!r} (known: {', '.join(incoming_kinds())})") from None
