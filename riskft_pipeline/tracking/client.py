"""Where MLflow lives and how its failures surface: one URI resolution, one client, one error type.

The tracking URI is, in order: the argument, ``$RISKFT_TRACKING_URI``, ``$MLFLOW_TRACKING_URI``, else SQLite under
``.riskft/mlflow/`` (:func:`riskft_pipeline.paths.default_tracking_uri`). Any other store (``http://127.0.0.1:5000``,
``postgresql://…``) is configuration only. A URI passed to any function here becomes the process default (as MLflow's
own fluent state is process-wide), so later calls without one go to the same store. Every MLflow call made by this package runs inside :func:`guard`, so a
dead server or database becomes one :class:`TrackingError` line instead of a urllib3 traceback, and MLflow's HTTP
retries are shortened (seconds, not the default minutes) unless the user set them.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import RESOURCE_ALREADY_EXISTS, RESOURCE_DOES_NOT_EXIST, ErrorCode

from riskft_pipeline import paths
from riskft_pipeline.tracking.errors import TrackingError

# Defaults applied only when the user has not set them: 2 retries, 1 s backoff factor and a 30 s socket timeout
# make an unreachable server fail in a few seconds (MLflow's own defaults retry for minutes); no progress bars for
# the small artifacts read here (they fill logs with carriage returns).
ENV_DEFAULTS = {
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0.2",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
}
#: MLflow 3's experiment type: "custom_model_development" is what it calls machine-learning model training (the other
#: choice, "genai_development", is for traces). The UI of MLflow 3.17 no longer reads the tag to pick its view (the
#: ``workflowType`` link parameter and the browser's stored choice do, see :mod:`riskft_pipeline.tracking.urls` and
#: :mod:`riskft_pipeline.tracking.ui_app`); it stays for API clients and older UIs.
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"
_REMOTE_SCHEMES = ("http", "https", "databricks", "databricks-uc", "uc")
_UNREACHABLE_HINTS = (
    "Max retries exceeded",
    "Connection refused",
    "Failed to establish",
    "Connection aborted",
    "RemoteDisconnected",
    "ConnectionError",
    "timed out",
    "timeout",
    "unable to open database file",
    "could not connect to server",
    "Connection reset",
)


def resolve_tracking_uri(tracking_uri: str | None = None) -> str:
    """The URI this process should use (argument > env > SQLite default); no side effects."""
    return (
        tracking_uri
        or os.environ.get("RISKFT_TRACKING_URI")
        or os.environ.get("MLFLOW_TRACKING_URI")
        or paths.default_tracking_uri()
    )


# Nothing at run time phones home: MLflow 3 otherwise sends usage telemetry, for library use too.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

def configure(tracking_uri: str | None = None) -> str:
    """Point MLflow (tracking and registry) at the resolved URI and return it.

    Sets the short HTTP retry defaults, creates the folder of a local SQLite database, and records the URI in
    ``$RISKFT_TRACKING_URI`` so later calls in this process (and its subprocesses) use the same store.
    """
    uri = resolve_tracking_uri(tracking_uri)
    for key, value in ENV_DEFAULTS.items():
        os.environ.setdefault(key, value)
    if uri.startswith("sqlite:///"):
        db = uri.removeprefix("sqlite:///")
        if db and db != ":memory:":
            Path(db).parent.mkdir(parents=True, exist_ok=True)
    os.environ["RISKFT_TRACKING_URI"] = uri
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return uri


def get_client(tracking_uri: str | None = None) -> MlflowClient:
    """A client bound to the configured store (configuring it first)."""
    uri = configure(tracking_uri)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def is_remote(uri: str) -> bool:
    """True for a tracking server (it chooses artifact locations); False for a database or folder we write to."""
    return urlsplit(uri).scheme in _REMOTE_SCHEMES


def display_uri(uri: str) -> str:
    """The URI without a password, fit for messages and logs."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def error_code(exc: BaseException) -> str | None:
    return getattr(exc, "error_code", None)


def is_not_found(exc: BaseException) -> bool:
    return isinstance(exc, MlflowException) and error_code(exc) == ErrorCode.Name(RESOURCE_DOES_NOT_EXIST)


def is_missing(exc: BaseException) -> bool:
    """Not found: a model, version or alias (MLflow reports a missing alias as an invalid parameter)."""
    return isinstance(exc, MlflowException) and (is_not_found(exc) or "not found" in str(exc).lower())


def is_already_exists(exc: BaseException) -> bool:
    return isinstance(exc, MlflowException) and error_code(exc) in (
        ErrorCode.Name(RESOURCE_ALREADY_EXISTS),
        "ALREADY_EXISTS",
    )


def _tracking_exceptions() -> tuple[type[BaseException], ...]:
    import requests
    import sqlalchemy.exc

    return (MlflowException, requests.exceptions.RequestException, sqlalchemy.exc.SQLAlchemyError)


def _short_reason(exc: BaseException) -> str:
    """The useful tail of MLflow's long messages: the errno text if there is one, else the first line, capped."""
    text = str(exc)
    errno = re.search(r"\[Errno -?\d+\] [^'\")\]]+", text)
    if errno:
        return errno.group(0).strip()
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return first[:300]


def as_tracking_error(exc: BaseException, uri: str, action: str = "") -> TrackingError:
    """Translate an MLflow/requests/SQLAlchemy exception into one clear line."""
    where = display_uri(uri)
    what = f" while {action}" if action else ""
    text = str(exc)
    if any(hint.lower() in text.lower() for hint in _UNREACHABLE_HINTS):
        kind = "MLflow tracking server" if is_remote(uri) else "MLflow tracking store"
        return TrackingError(f"{kind} at {where} is unreachable{what}: {_short_reason(exc)}", unreachable=True)
    return TrackingError(f"MLflow request to {where} failed{what}: {_short_reason(exc)}")


@contextlib.contextmanager
def guard(uri: str, action: str = "") -> Iterator[None]:
    """Run MLflow calls; any tracking failure leaves as :class:`TrackingError` (cause chained for debugging)."""
    try:
        yield
    except TrackingError:
        raise
    except _tracking_exceptions() as exc:
        raise as_tracking_error(exc, uri, action) from exc


def ensure_experiment(client: MlflowClient, name: str, uri: str) -> str:
    """The id of experiment ``name``, created on first use.

    With a local store (SQLite, PostgreSQL) the artifacts go under ``.riskft/mlflow/artifacts`` instead of MLflow's
    default ``./mlruns`` in whatever the current directory is; a tracking server picks its own artifact root.
    Two processes creating it at once is fine: the loser reads the winner's.

    The experiment is tagged as model training (:data:`EXPERIMENT_KIND`), which older MLflow 3 UIs read to show its
    runs rather than its GenAI traces view (an experiment made by an older release gets the tag on its next use);
    the 3.17 UI no longer reads it (see :data:`EXPERIMENT_KIND_TAG`).
    """
    existing = client.get_experiment_by_name(name)
    if existing is not None:
        if existing.lifecycle_stage == "deleted":
            client.restore_experiment(existing.experiment_id)
        if (existing.tags or {}).get(EXPERIMENT_KIND_TAG) != EXPERIMENT_KIND:
            client.set_experiment_tag(existing.experiment_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)
        return existing.experiment_id
    folder = re.sub(r"[^A-Za-z0-9._-]", "_", name)
    location = None if is_remote(uri) else (paths.mlflow_dir() / "artifacts" / folder).as_uri()
    try:
        return client.create_experiment(name, artifact_location=location,
                                        tags={EXPERIMENT_KIND_TAG: EXPERIMENT_KIND})
    except MlflowException as exc:
        if not is_already_exists(exc):
            raise
        again = client.get_experiment_by_name(name)
        if again is None:
            raise
        return again.experiment_id
