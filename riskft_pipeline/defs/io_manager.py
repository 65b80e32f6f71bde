"""Asset values stored per run, so two runs of the same asset at once never read each other's values.

Dagster's default filesystem IO manager keeps one file per asset (``storage/<asset>``): when two runs overlap, the
later write wins and a downstream step of the *other* run loads it; e.g. an adapter trained on the splits of a run it
does not belong to, with lineage naming the wrong data. Here each value lives at
``storage/<asset>/<run id>.pickle``: a step reads the value its own run (or the run it re-executes) produced, and an
asset materialised in an earlier run is read from its latest materialisation. The values are small frozen dataclasses
of paths and hashes (:mod:`riskft_pipeline.defs.values`); the data itself is already in run-scoped folders
(:func:`riskft_pipeline.defs.common.run_dir`). A value pickled as a plain dict by a run made before the values were
typed is converted on load to the type the reading asset's input declares.
"""

import pickle
from pathlib import Path

import dagster as dg
from dagster._core.errors import DagsterInvariantViolationError

from riskft_pipeline.core.files import atomic_write
from riskft_pipeline.defs.values import Value


class RunScopedIOManager(dg.ConfigurableIOManager):
    base_dir: str = ""  # empty: the instance's storage folder (under DAGSTER_HOME)

    def _folder(self, instance: dg.DagsterInstance, asset_key: dg.AssetKey) -> Path:
        base = Path(self.base_dir) if self.base_dir else Path(instance.storage_directory())
        return base.joinpath(*asset_key.path)

    def handle_output(self, context: dg.OutputContext, obj) -> None:
        if obj is None:  # a MaterializeResult-style asset: nothing to store
            return
        path = self._folder(context.step_context.instance, context.asset_key) / f"{context.run_id}.pickle"
        with atomic_write(path, "wb") as f:
            pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)

    def load_input(self, context: dg.InputContext):
        folder = self._folder(context.instance, context.asset_key)
        path = folder / f"{_upstream_run(context)}.pickle"
        if not path.is_file():  # the asset is not part of this run: its latest materialisation
            record = context.instance.get_latest_materialization_event(context.asset_key)
            if record is None:
                raise dg.Failure(f"{context.asset_key.to_user_string()} has never been materialised: "
                                 "materialise it first")
            path = folder / f"{record.run_id}.pickle"
        if not path.is_file():
            raise dg.Failure(f"no stored value of {context.asset_key.to_user_string()} at {path}: "
                             "materialise it again")
        with open(path, "rb") as f:
            return as_declared_type(pickle.load(f), _declared_type(context))


def _declared_type(context: dg.InputContext):
    """The Python class the reading asset's input is annotated with (None when untyped)."""
    try:
        return context.dagster_type.typing_type
    except Exception:  # noqa: BLE001 - no Dagster type on this input: nothing to convert to
        return None


def as_declared_type(obj, declared):
    """``obj`` as ``declared`` when that is one of the typed values and ``obj`` an older run's dict; else ``obj``."""
    if isinstance(declared, type) and issubclass(declared, Value) and not isinstance(obj, declared):
        return declared.of(obj)
    return obj


def _upstream_run(context: dg.InputContext) -> str | None:
    """The run that produced the value in this run's plan (itself, or the run it re-executes); None when unknown."""
    try:
        return context.upstream_output.run_id
    except DagsterInvariantViolationError:
        return None
