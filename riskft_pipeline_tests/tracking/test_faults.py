"""A real ``mlflow server`` on loopback, killed before and during registration: a clear error within seconds, no
alias on a half-made version, and a rerun that succeeds once the server is back."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import mlflow
import mlflow.artifacts
import pytest
from mlflow import MlflowClient

from riskft_pipeline.tracking import registry
from riskft_pipeline.tracking.client import TrackingError, configure
from riskft_pipeline.tracking.registry import register_adapter
from riskft_pipeline.tracking.runs import start_training_run
from riskft_pipeline_tests.tracking.conftest import TRACKING_ENV
from riskft_pipeline_tests.tracking.fakes import fake_report, make_data

pytestmark = pytest.mark.timeout(180)
MLFLOW = Path(sys.executable).with_name("mlflow")


class MlflowServer:
    """``mlflow server`` over a SQLite store and a proxied artifact folder, in its own process group (uvicorn runs
    as a child: killing the group kills the server, nothing else)."""

    def __init__(self, root: Path, template_db: Path) -> None:
        self.root = root
        self.db = root / "server.db"
        self.db.write_bytes(template_db.read_bytes())  # migrated already: the server starts faster
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.uri = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> None:
        log = open(self.root / "server.log", "ab")  # noqa: SIM115 - the child process owns it
        cmd = [str(MLFLOW), "server", "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1",
               "--backend-store-uri", f"sqlite:///{self.db}", "--artifacts-destination", str(self.root / "art")]
        env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"mlflow server exited: {(self.root / 'server.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.uri}/health", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.25)
        pytest.fail(f"mlflow server did not answer /health within {timeout}s")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None


@pytest.fixture
def server(tmp_path, template_db, monkeypatch):
    srv = MlflowServer(tmp_path, template_db)
    for var in TRACKING_ENV:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("RISKFT_HOME", str(tmp_path / "home"))
    srv.start()
    configure(srv.uri)
    yield srv
    srv.kill()
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)


def _alias_targets_are_complete(client: MlflowClient, model: str) -> None:
    for mv in client.search_model_versions(f"name = '{model}'"):
        for _ in mv.aliases:
            assert mv.tags["riskft.status"] == "ready"
            listed = {f.path for f in mlflow.artifacts.list_artifacts(f"models:/{model}/{mv.version}")}
            assert "MLmodel" in listed and "artifacts" in listed


def test_server_killed_before_and_during_registration(server, recipe, fake_adapter, tmp_path, monkeypatch):
    lineage = make_data(tmp_path / "data")
    runs = []
    for name in ("first", "second"):
        with start_training_run("faults", name, recipe=recipe) as run:
            runs.append(run.run_id)

    def register(run_id: str, value: float) -> dict:
        return register_adapter(run_id=run_id, adapter_dir=fake_adapter, report=fake_report(value),
                                model_name="fault-model", lineage=lineage, task="tickets")

    assert register(runs[0], 0.7)["promoted"]

    # 1. the server is down: a clear error within seconds, nothing registered
    server.kill()
    t0 = time.monotonic()
    with pytest.raises(TrackingError, match=rf"MLflow tracking server at {server.uri} is unreachable") as err:
        register(runs[1], 0.9)
    assert err.value.unreachable and time.monotonic() - t0 < 20
    server.start()
    client = MlflowClient(server.uri, server.uri)
    assert [str(v.version) for v in client.search_model_versions("name = 'fault-model'")] == ["1"]

    # 2. the server dies after the version is created, before the gate: no alias may point at it
    original = registry._await_ready

    def dies_now(*args):
        server.kill()
        return original(*args)

    with monkeypatch.context() as mp:
        mp.setattr(registry, "_await_ready", dies_now)
        t0 = time.monotonic()
        with pytest.raises(TrackingError, match="is unreachable"):
            register(runs[1], 0.9)
        assert time.monotonic() - t0 < 30
    server.start()
    half = client.get_model_version("fault-model", "2")
    assert half.tags["riskft.status"] == "registering" and not half.aliases
    assert str(client.get_model_version_by_alias("fault-model", "champion").version) == "1"
    _alias_targets_are_complete(client, "fault-model")

    # 3. the rerun succeeds, and the half-made version is gone
    result = register(runs[1], 0.9)
    assert result["promoted"] and result["previous_champion"] == {"version": "1", "value": 0.7}
    versions = sorted(str(v.version) for v in client.search_model_versions("name = 'fault-model'"))
    assert versions == ["1", result["version"]] and result["version"] != "2"
    _alias_targets_are_complete(client, "fault-model")
