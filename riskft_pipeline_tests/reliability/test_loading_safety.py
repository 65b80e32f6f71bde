"""Loading safety: pickle weights are refused before anything unpickles them, no code path trusts remote code or
evaluates text, and a run with the hub offline and every non-loopback socket refused still works and attempts no
network access (MLflow's telemetry included)."""

from __future__ import annotations

import ast
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from riskft_pipeline.core.files import write_jsonl
from riskft_pipeline.core.tickets.prompts import build_messages
from riskft_pipeline.paths import PACKAGE_DIR, configs_dir, embedded_data_dir, repo_root
from riskft_pipeline_tests.reliability.harness import run_cli

# --- pickle weights ------------------------------------------------------------------------------------------------


class _Exploit:
    """A pickle that creates ``marker`` when loaded: what a hostile ``pytorch_model.bin`` can do."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_pickle_only_model_folder_is_refused_by_the_cli_before_loading(tmp_path):
    marker = tmp_path / "code-ran"
    model = tmp_path / "evil-model"
    model.mkdir()
    (model / "config.json").write_text('{"model_type": "llama"}', encoding="utf-8")
    (model / "pytorch_model.bin").write_bytes(pickle.dumps(_Exploit(marker)))
    recipe = yaml.safe_load((configs_dir() / "tickets_tiny.yaml").read_text(encoding="utf-8"))
    recipe["base_model"]["name"] = str(model)
    recipe_path = tmp_path / "recipe.yaml"
    recipe_path.write_text(yaml.safe_dump(recipe), encoding="utf-8")
    data = tmp_path / "data"
    for split in ("train", "val"):
        write_jsonl(data / f"{split}.jsonl", [{"id": "T1", "messages": build_messages("Outlook crashes", {
            "type": "Incident", "category": "SOFTWARE"})}])

    run = run_cli(["train", "--recipe", str(recipe_path), "--data", str(data), "--out", str(tmp_path / "run"),
                   "--no-track"])
    assert run.rc == 2 and run.one_clear_line(), run.stderr
    assert "safetensors" in run.stderr and "pytorch_model.bin" in run.stderr
    assert not marker.exists(), "the pickle was loaded"


def test_a_pickle_only_adapter_folder_is_refused_before_loading(tmp_path, monkeypatch):
    """T1: PEFT falls back to ``adapter_model.bin`` when there is no safetensors file; it is refused before the base
    model (or anything else) is loaded, with one line naming the folder."""
    import json

    from riskft_pipeline import enrich
    from riskft_pipeline.core.errors import InputError
    from riskft_pipeline.training import infer
    from riskft_pipeline.training.sft import ADAPTER_META

    marker = tmp_path / "code-ran"
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text('{"peft_type": "LORA", "r": 8}', encoding="utf-8")
    (adapter / "adapter_model.bin").write_bytes(pickle.dumps(_Exploit(marker)))
    (adapter / ADAPTER_META).write_text(json.dumps({"base_model": {"config": {}, "identity": {}}}), encoding="utf-8")

    def no_loading(*args, **kwargs):
        raise AssertionError("a model was loaded")

    monkeypatch.setattr(infer, "load_base", no_loading)
    for attempt in (lambda: infer.load_for_inference(adapter), lambda: infer._attach_adapter(None, adapter, False),
                    lambda: enrich.load_model(str(adapter))):
        with pytest.raises(InputError, match="only safetensors adapters are loaded") as err:
            attempt()
        message = str(err.value)
        assert str(adapter) in message and "adapter_model.bin" in message and "\n" not in message
    assert not marker.exists(), "the pickle was loaded"


# --- source scan ---------------------------------------------------------------------------------------------------


def _package_sources() -> list[tuple[Path, ast.Module]]:
    return [(p, ast.parse(p.read_text(encoding="utf-8"), str(p))) for p in sorted(PACKAGE_DIR.rglob("*.py"))]


def _calls(tree: ast.AST):
    return (node for node in ast.walk(tree) if isinstance(node, ast.Call))


def _name(func: ast.expr) -> str:
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def test_no_code_path_trusts_remote_code():
    offenders = []
    for path, tree in _package_sources():
        for call in _calls(tree):
            for kw in call.keywords:
                if kw.arg == "trust_remote_code" and not (isinstance(kw.value, ast.Constant) and
                                                          kw.value.value is False):
                    offenders.append(f"{path.name}:{call.lineno}")
            for d in (n for n in ast.walk(call) if isinstance(n, ast.Dict)):
                for key, value in zip(d.keys, d.values):
                    if isinstance(key, ast.Constant) and key.value == "trust_remote_code" and not (
                            isinstance(value, ast.Constant) and value.value is False):
                        offenders.append(f"{path.name}:{d.lineno}")
    assert offenders == []
    texts = [p.read_text(encoding="utf-8") for p in (*PACKAGE_DIR.rglob("*.py"), *configs_dir().glob("*.yaml"))]
    assert not any("trust_remote_code=True" in t or "trust_remote_code: true" in t.lower() for t in texts)


def test_model_loads_ask_for_safetensors_and_local_files():
    source = (PACKAGE_DIR / "training" / "base_model.py").read_text(encoding="utf-8")
    assert '"use_safetensors": True' in source and '"local_files_only": True' in source


def test_nothing_evaluates_text_or_unpickles_outside_dagsters_own_storage():
    offenders = []
    for path, tree in _package_sources():
        for call in _calls(tree):
            name, func = _name(call.func), call.func
            owner = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else ""
            if isinstance(func, ast.Name) and name in ("eval", "exec", "compile", "__import__"):
                offenders.append(f"{path.name}:{call.lineno}: {name}")
            if owner == "yaml" and name in ("load", "unsafe_load", "full_load"):
                offenders.append(f"{path.name}:{call.lineno}: yaml.{name}")
            if owner == "torch" and name == "load" and not any(
                    k.arg == "weights_only" and getattr(k.value, "value", None) is True for k in call.keywords):
                offenders.append(f"{path.name}:{call.lineno}: torch.load without weights_only=True")
            if owner == "pickle" and name in ("load", "loads") and path.name != "io_manager.py":
                offenders.append(f"{path.name}:{call.lineno}: pickle.{name}")
            if name == "literal_eval":
                offenders.append(f"{path.name}:{call.lineno}: literal_eval")
    assert offenders == []


# --- no network at run time ------------------------------------------------------------------------------------------

_SITECUSTOMIZE = '''
"""Test sandbox: every socket to anything but loopback (or a Unix socket) is refused and written to $NET_LOG."""
import ipaddress, os, socket

def _record(what):
    with open(os.environ["RISKFT_NET_LOG"], "a", encoding="utf-8") as f:
        f.write(what + "\\n")

def _local(host):
    host = host.decode() if isinstance(host, bytes) else str(host)
    return host in ("localhost", "::1", "0:0:0:0:0:0:0:1") or host.startswith("127.")

def _is_unix(sock):
    return sock.family == getattr(socket, "AF_UNIX", object())

_connect, _connect_ex, _getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo

def connect(self, address):
    if _is_unix(self) or _local(address[0]):
        return _connect(self, address)
    _record(f"connect {address!r}")
    raise OSError(101, "network is unreachable (refused by the riskft test sandbox)")

def connect_ex(self, address):
    if _is_unix(self) or _local(address[0]):
        return _connect_ex(self, address)
    _record(f"connect_ex {address!r}")
    return 101

def _literal(host):
    try:
        ipaddress.ip_address(host.decode() if isinstance(host, bytes) else str(host))
    except ValueError:
        return False
    return True

def getaddrinfo(host, *args, **kwargs):
    if host is not None and not _local(host) and not _literal(host):  # a literal IP needs no lookup
        _record(f"getaddrinfo {host!r}")
        raise socket.gaierror(socket.EAI_NONAME, "name resolution refused by the riskft test sandbox")
    return _getaddrinfo(host, *args, **kwargs)

socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = connect, connect_ex, getaddrinfo
'''

# CI markers make MLflow switch its telemetry off by itself; the sandbox removes them to see what a user's run does.
_CI_MARKERS = ("PYTEST_CURRENT_TEST", "CI", "GITHUB_ACTIONS", "GITLAB_CI", "JENKINS_URL", "BUILDKITE", "TF_BUILD")


def _sandboxed(tmp_path: Path, script: str, home: Path, timeout: float = 240) -> tuple[subprocess.CompletedProcess,
                                                                                      list[str]]:
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(_SITECUSTOMIZE, encoding="utf-8")
    log = tmp_path / "network.log"
    env = {k: v for k, v in os.environ.items() if k not in _CI_MARKERS}
    env.update(PYTHONPATH=os.pathsep.join([str(site), str(repo_root())]), RISKFT_NET_LOG=str(log),
               RISKFT_HOME=str(home), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    env.pop("MLFLOW_DISABLE_TELEMETRY", None)
    env.pop("DO_NOT_TRACK", None)
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True, env=env,
                          timeout=timeout, cwd=tmp_path, check=False)
    attempts = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    return proc, attempts


def test_the_sandbox_refuses_and_records_outside_connections(tmp_path):
    proc, attempts = _sandboxed(tmp_path, """
        import socket
        server = socket.socket(); server.bind(("127.0.0.1", 0)); server.listen(1)
        socket.create_connection(server.getsockname(), timeout=5).close()   # loopback works
        try:
            socket.create_connection(("192.0.2.1", 80), timeout=5)
        except OSError:
            print("refused")
        try:
            socket.create_connection(("example.com", 443), timeout=5)
        except OSError:
            print("refused")
    """, tmp_path / "home")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["refused", "refused"]
    assert attempts == ["connect ('192.0.2.1', 80)", "getaddrinfo 'example.com'"]


@pytest.mark.slow
def test_prepare_a_tiny_model_load_and_tracking_attempt_no_network(tmp_path, session_home, offline_tokenizer):
    """What `make run` does, in small: the CLI prepares data, the offline base model loads and generates, and an
    MLflow run is logged; none of it opens a socket to anything but loopback."""
    proc, attempts = _sandboxed(tmp_path, f"""
        from riskft_pipeline.cli import main
        assert main(["tickets", "prepare", "--input", {str(embedded_data_dir() / "tickets.csv")!r},
                     "--out", "prepared"]) == 0

        import os
        os.environ["RISKFT_HOME"] = {str(session_home)!r}   # the converted base model lives in the suite's home
        from riskft_pipeline.core.config import BaseModelConfig
        from riskft_pipeline.training.base_model import load_base
        model, tokenizer, identity = load_base(BaseModelConfig(), for_training=False)
        ids = tokenizer("Outlook crashes", return_tensors="pt")
        out = model.generate(**ids, max_new_tokens=2, do_sample=False)
        assert out.shape[1] == ids["input_ids"].shape[1] + 2

        os.environ["RISKFT_HOME"] = {str(tmp_path / "home")!r}
        from riskft_pipeline.tracking.client import get_client
        client = get_client()
        run = client.create_run(client.create_experiment("offline-check"))
        client.log_metric(run.info.run_id, "loss", 1.0)
        client.set_terminated(run.info.run_id)
        import time; time.sleep(1.5)   # give a background telemetry thread the time to try
        print("ok")
    """, tmp_path / "home")
    assert proc.returncode == 0 and proc.stdout.strip().endswith("ok"), proc.stderr[-3000:]
    assert attempts == [], attempts
