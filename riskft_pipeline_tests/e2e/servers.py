"""Servers for the browser tests: started in their own process group, waited for over HTTP, stopped as a person
would (Ctrl-C, then harder) so that no child outlives a test; and the Chromium that Playwright drives (Debian's,
never a downloaded one)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from riskft_pipeline import paths

CHROMIUM = Path("/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists() and not IN_CI,
                                    reason="Debian's chromium is not installed (apt-get install chromium); CI has it")


@contextlib.contextmanager
def running(cmd: list[str], *, env: dict, log: Path, cwd: Path | None = None) -> Iterator[subprocess.Popen]:
    """A server in its own process group (``start_new_session``), stopped with SIGINT to the whole group, then
    SIGTERM, then SIGKILL, so no child outlives the test."""
    with open(log, "wb") as out:
        proc = subprocess.Popen([*_DEFAULT_SIGINT, *cmd], env=env, cwd=cwd or paths.repo_root(), stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            yield proc
        finally:
            _stop_group(proc)


# A test run from a background shell (CI) inherits an ignored SIGINT, which exec keeps: the server would never see
# Ctrl-C. This prefix restores the default disposition, then execs the server (no preexec_fn: pytest has threads).
_RESET_AND_EXEC = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
                   "os.execv(sys.argv[1], sys.argv[1:])")
_DEFAULT_SIGINT = [sys.executable, "-c", _RESET_AND_EXEC]


def _stop_group(proc: subprocess.Popen) -> None:
    for sig, grace in ((signal.SIGINT, 30), (signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        if _group_gone(proc, grace):
            return


def _group_gone(proc: subprocess.Popen, grace: float) -> bool:
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        proc.poll()
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.5)
    return False


def wait_http(url: str, timeout_s: float, proc: subprocess.Popen, log: Path) -> None:
    """Until ``url`` answers 200; fails with the server's log tail if it dies or never answers."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"server exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        with contextlib.suppress(urllib.error.URLError, ConnectionError, TimeoutError), \
                urllib.request.urlopen(url, timeout=5) as response:
            if response.status == 200:
                return
        time.sleep(1)
    pytest.fail(f"{url} did not answer within {timeout_s} s:\n{log.read_text(errors='replace')[-3000:]}")


def server_env(home: Path, **extra: str) -> dict:
    return {**os.environ, "RISKFT_HOME": str(home), "DAGSTER_HOME": str(home / "dagster"), "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1", **extra}


def mlflow_ui_cmd(port: int) -> list[str]:
    """``mlflow server`` as ``make mlflow-ui`` starts it (the ``riskft-ui`` app, loopback, one worker) on ``port``,
    over the store of the current ``RISKFT_HOME``."""
    return [venv_bin("mlflow"), "server", "--app-name", "riskft-ui", "--host", "127.0.0.1", "--port", str(port),
            "--workers", "1", "--backend-store-uri", paths.default_tracking_uri(), "--default-artifact-root",
            paths.default_artifact_root()]


def venv_bin(name: str) -> str:
    """The console script installed beside this interpreter (the project's virtual environment)."""
    return str(Path(sys.executable).parent / name)


def skip_welcome(page, base: str) -> None:
    """Keep Dagster's first-visit "Join the community" dialog out of the way. Its Skip button sends the ``setNuxSeen``
    GraphQL mutation; sending it first means the dialog never opens (a dialog that opened over another one took the
    Escape meant for that one: a CI failure). Should it open anyway, Playwright runs the handler before each action or
    assertion whenever the Skip button is visible, and clicks it as a person would."""
    request = urllib.request.Request(f"{base}/graphql", data=json.dumps({"query": "mutation { setNuxSeen }"}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        answer = json.loads(response.read())
    assert answer.get("data", {}).get("setNuxSeen") is True, answer
    page.add_locator_handler(page.get_by_role("button", name="Skip"), lambda skip: skip.click())
