"""The task registry: the names users hold state under, every function reference resolving, and no module other than
the registry dispatching on a task's name."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import riskft_pipeline
from riskft_pipeline.core.errors import InputError
from riskft_pipeline.core.tasks import (
    RISK,
    TASKS,
    TICKETS,
    Ref,
    by_enrich_kind,
    incoming_kind,
    task_spec,
)

ROOT = Path(riskft_pipeline.__file__).resolve().parent


def test_the_names_users_have_state_under_are_unchanged():
    got = {name: (s.prefix, s.model_name, s.experiment, s.default_recipe, s.default_input, s.raw_asset,
                  s.clean_asset, s.splits_asset, s.adapter_asset, s.eval_report_asset, s.model_version_asset,
                  s.job_name, s.schedule_name, s.data_job, s.enriched_asset, s.enrich_job, s.enrich_pattern,
                  s.champion_uri) for name, s in TASKS.items()}
    assert got == {
        "tickets": ("ticket", "ticket-extractor", "ticket-extractor", "tickets_cpu.yaml", "tickets.csv",
                    "raw_tickets", "clean_tickets", "ticket_splits", "ticket_adapter", "ticket_eval_report",
                    "ticket_model_version", "tickets_chain", "nightly_tickets", "ticket_data", "enriched_tickets",
                    "enrich_tickets", "tickets*.csv", "models:/ticket-extractor@champion"),
        "risk": ("risk", "change-risk", "change-risk", "risk_cpu.yaml", "changes.csv", "raw_changes",
                 "change_features", "risk_splits", "risk_adapter", "risk_eval_report", "risk_model_version",
                 "risk_chain", "nightly_risk", None, "enriched_changes", "enrich_changes", "changes*.csv",
                 "models:/change-risk@champion"),
    }


def test_the_default_recipes_register_under_the_tasks_model_names():
    from riskft_pipeline import paths
    from riskft_pipeline.core.config import load_recipe

    for spec in TASKS.values():
        recipe = load_recipe(paths.configs_dir() / spec.default_recipe)
        assert recipe.task == spec.name and recipe.register.model_name == spec.model_name
        assert (paths.embedded_data_dir() / spec.default_input).is_file()


@pytest.mark.parametrize("spec", TASKS.values(), ids=list(TASKS))
def test_every_function_reference_resolves_with_the_signature_callers_use(spec):
    """The references are imported only when used: an error in one would otherwise surface at run time."""
    def params(ref: Ref) -> list[str]:
        fn = ref.load()
        assert callable(fn), ref
        return list(inspect.signature(fn).parameters)

    assert params(spec.prepare)[:3] == ["input_path", "out_dir", "recipe"]
    # anything after the three is a task's own option (ticket split fractions, seed): it must have a default,
    # since workflows.prepare passes only the options a caller names
    extra = list(inspect.signature(spec.prepare.load()).parameters.values())[3:]
    assert all(p.default is not inspect.Parameter.empty for p in extra), extra
    assert params(spec.evaluate)[:3] == ["adapter_dir", "data_dir", "out_dir"]
    assert {"recipe", "progress"} <= set(params(spec.evaluate))
    enrich = params(spec.enrich)
    assert enrich[:2] == ["input_csv", "out_csv"]
    assert {"model", "loaded", "batch_size", "progress", "tracking_uri", *spec.enrich_options} <= set(enrich)
    assert params(spec.history_input) == ["hist"]
    assert params(spec.pyfunc_signature) == []
    for k in spec.incoming:
        assert params(k.validate) == ["path"]
    assert (ROOT / "tracking" / "model_code" / spec.pyfunc_code).is_file()


def test_lookups_and_their_errors():
    assert task_spec("risk") is RISK and by_enrich_kind("tickets") is TICKETS
    assert incoming_kind("incidents")[0] is RISK and incoming_kind("incidents")[1].key == "number"
    for lookup, name in ((task_spec, "incidents"), (by_enrich_kind, "incidents"), (incoming_kind, "risk")):
        with pytest.raises(InputError, match="unknown"):
            lookup(name)


def test_ref_calls_the_named_function():
    ref = Ref("os.path", "join")
    assert ref("a", "b") == "a/b" and str(ref) == "os.path:join"


# --- no module other than the registry dispatches on a task's name --------------------------------------------------

TASK_WORDS = {w for s in TASKS.values() for w in (s.name, s.prefix, s.enrich_kind, s.model_name, s.experiment,
                                                  *(k.kind for k in s.incoming))}


def _dispatches(tree: ast.AST) -> list[str]:
    """``x == "tickets"``, ``x in ("tickets", "risk")``, ``{"tickets": …, "risk": …}``, a model name as a literal."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            words = [c.value for o in operands for c in ast.walk(o) if isinstance(c, ast.Constant)
                     and c.value in TASK_WORDS]
            if words:
                found.append(f"line {node.lineno}: compares with {words}")
        elif isinstance(node, ast.Dict):
            keys = [k.value for k in node.keys if isinstance(k, ast.Constant) and k.value in TASK_WORDS]
            if len(keys) >= 2:
                found.append(f"line {node.lineno}: a table keyed by {keys}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in (
                {s.model_name for s in TASKS.values()} | {s.experiment for s in TASKS.values()}):
            found.append(f"line {node.lineno}: the name {node.value!r}")
    return found


#: modules this check does not read, and why
NOT_READ = {
    "core/tasks.py": "the registry itself",
    "core/risk": "the change-risk domain (another work stream): 'risk' there is the answer's JSON key and "
                 "'changes'/'incidents' are file kinds of the labelling, not task dispatch",
}


def _not_read(path: Path) -> bool:
    rel = path.relative_to(ROOT).as_posix()
    return any(rel == p or rel.startswith(p + "/") for p in NOT_READ)


def test_no_module_but_the_registry_dispatches_on_a_task_name():
    offences = {}
    for path in sorted(ROOT.rglob("*.py")):
        if _not_read(path):
            continue
        found = _dispatches(ast.parse(path.read_text(encoding="utf-8")))
        if found:
            offences[str(path.relative_to(ROOT))] = found
    assert not offences, offences


@pytest.mark.parametrize(("source", "caught"), [
    ('if task == "tickets": pass', True),
    ('if kind in ("tickets", "changes"): pass', True),
    ('PATTERNS = {"tickets": "t*.csv", "changes": "c*.csv"}', True),
    ('NAME = "change-risk"', True),
    ('if spec.retrieval_hints: pass', False),
    ('updates["risk"] = 1', False),
])
def test_the_dispatch_finder_finds_dispatch(source, caught):
    assert bool(_dispatches(ast.parse(source))) is caught
