"""Fixtures for the browser tests: a private home, Chromium launched once per module, and a screenshot list whose
files are copied to ``$RISKFT_HOME/screenshots`` and printed."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from riskft_pipeline import paths
from riskft_pipeline_tests.e2e.servers import CHROMIUM, CHROMIUM_ARGS


@pytest.fixture
def e2e_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "home"
    for var in ("RISKFT_TRACKING_URI", "MLFLOW_TRACKING_URI", "RISKFT_INCOMING", "RISKFT_DAGSTER_PG_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("RISKFT_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    return home


@pytest.fixture
def screenshots(tmp_path) -> Iterator[list[Path]]:
    """Append paths of screenshots taken; at the end they are copied to ``$RISKFT_HOME/screenshots`` and printed."""
    taken: list[Path] = []
    yield taken
    target = paths.riskft_home() / "screenshots"
    target.mkdir(parents=True, exist_ok=True)
    for shot in taken:
        shutil.copy2(shot, target / shot.name)
        print(f"[riskft e2e] screenshot: {shot} (copied to {target / shot.name})")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()
