"""The ``riskft-ui`` MLflow app (tracking/ui_app.py) that `make mlflow-ui` serves: its page carries the script that
opens the runs view when the browser has no stored choice, every other route is MLflow's own, and ``mlflow server
--app-name riskft-ui`` finds it. The browser side is e2e/test_mlflow_ui.py."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from mlflow.server import app as mlflow_app

from riskft_pipeline import paths
from riskft_pipeline.tracking import ui_app
from riskft_pipeline_tests.e2e.servers import mlflow_ui_cmd

PAGE_SCRIPT = re.compile(r"<script>([^<]*workflowType[^<]*)</script>")


@pytest.fixture
def mlflow_views(monkeypatch) -> dict:
    """MLflow's own views before :func:`create_app` changes the page's (restored afterwards), for the Flask app as
    gunicorn/waitress run it."""
    monkeypatch.delenv("_MLFLOW_SGI_NAME", raising=False)
    monkeypatch.setitem(mlflow_app.view_functions, "serve", mlflow_app.view_functions["serve"])
    return dict(mlflow_app.view_functions)


@pytest.fixture
def app(mlflow_views):
    return ui_app.create_app()


def served_script(app) -> str:
    response = app.test_client().get("/")
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    scripts = PAGE_SCRIPT.findall(html)
    assert len(scripts) == 1 and html.index(scripts[0]) < html.index("</head>") < html.index('<div id="root"')
    return scripts[0]


def test_the_page_stores_the_runs_view_only_when_the_browser_has_no_choice(app):
    script = served_script(app)
    key, value = json.dumps("mlflow.workflowType_v1"), json.dumps(json.dumps("machine_learning"))
    assert script == f"try{{if(!localStorage.getItem({key}))localStorage.setItem({key},{value})}}catch(e){{}}"


@pytest.mark.skipif(shutil.which("node") is None, reason="node runs the page's script outside a browser")
@pytest.mark.parametrize(("stored", "after"), [(None, '"machine_learning"'), ('"genai"', '"genai"'),
                                               ('"machine_learning"', '"machine_learning"'), ("throws", "throws")])
def test_the_served_script_keeps_a_stored_choice(app, stored, after):
    """Run with a stand-in localStorage: empty, holding a choice, or blocked (``throws``: reading it raises)."""
    fake = ("const m=new Map();globalThis.localStorage={getItem:k=>{if(m.get(k)==='throws')throw Error('blocked');"
            "return m.has(k)?m.get(k):null},setItem:(k,v)=>m.set(k,v)};")
    seed = f"m.set('mlflow.workflowType_v1',{json.dumps(stored)});" if stored else ""
    show = "process.stdout.write(JSON.stringify(m.get('mlflow.workflowType_v1')));"
    done = subprocess.run(["node", "-e", fake + seed + served_script(app) + ";" + show], capture_output=True,
                          text=True, timeout=30, check=True)
    assert json.loads(done.stdout) == after


def test_every_other_route_is_mlflows_own(mlflow_views):
    rules = sorted(str(rule) for rule in mlflow_app.url_map.iter_rules())
    app = ui_app.create_app()
    assert app is mlflow_app and sorted(str(rule) for rule in app.url_map.iter_rules()) == rules
    assert app.view_functions["serve"] is not mlflow_views.pop("serve")
    assert {name: view for name, view in app.view_functions.items() if name != "serve"} == mlflow_views
    client = app.test_client()
    assert client.get("/health").get_data(as_text=True) == "OK"
    bundle = next((Path(app.static_folder) / "static" / "js").glob("main.*.js"))
    with client.get(f"/static-files/static/js/{bundle.name}") as response:
        assert response.status_code == 200 and response.get_data() == bundle.read_bytes()


def test_under_uvicorn_it_is_mlflows_fastapi_app_around_it(mlflow_views, monkeypatch):
    from fastapi import FastAPI

    monkeypatch.setenv("_MLFLOW_SGI_NAME", "uvicorn")  # what `mlflow server` sets for its default server
    assert isinstance(ui_app.create_app(), FastAPI)


def test_mlflow_server_finds_the_app_and_make_mlflow_ui_runs_it():
    from mlflow.cli import server

    (entry,) = [e for e in entry_points(group="mlflow.app") if e.name == "riskft-ui"]
    assert entry.load() is ui_app.create_app
    app_names = next(p for p in server.params if p.name == "app_name").type.choices
    assert "riskft-ui" in app_names
    recipe = (paths.repo_root() / "Makefile").read_text(encoding="utf-8").split("\nmlflow-ui:")[1].split("\n\n")[0]
    as_run = " ".join(mlflow_ui_cmd(5000)[1:10]).replace("5000", "$(MLFLOW_PORT)")
    assert f"$(BIN)/mlflow {as_run} \\" in recipe  # the e2e tests start the UI the way `make mlflow-ui` does
