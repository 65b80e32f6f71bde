"""Base model resolution: the offline GGUF conversion is cached and keyed; hub names never reach the network;
pickle weights are refused."""

from __future__ import annotations

import json
import threading
import time

import pytest

from riskft_pipeline.core.config import OFFLINE_BASE, BaseModelConfig
from riskft_pipeline.core.errors import InputError
from riskft_pipeline.core.files import sha256_file
from riskft_pipeline.training import base_model
from riskft_pipeline.training.base_model import MARKER, BaseModelError, resolve_base, weights_sha256


def test_offline_base_is_converted_once_and_keyed_by_gguf_hash(offline_base):
    gguf_sha = sha256_file(base_model.gguf_path())
    assert offline_base.identity["source"] == "gguf"
    assert offline_base.identity["name"] == OFFLINE_BASE
    assert offline_base.identity["sha256"] == gguf_sha
    assert offline_base.path.name.endswith(gguf_sha[:16])
    assert (offline_base.path / "model.safetensors").is_file()
    assert not list(offline_base.path.glob("*.bin"))
    marker = json.loads((offline_base.path / MARKER).read_text())
    assert marker["sha256"] == gguf_sha
    assert marker["weights_sha256"] == offline_base.identity["weights_sha256"]
    assert weights_sha256(offline_base.path, memo=False) == offline_base.identity["weights_sha256"]
    config = json.loads((offline_base.path / "config.json").read_text())
    assert "quantization_config" not in config

    mtime = (offline_base.path / "model.safetensors").stat().st_mtime_ns
    again = resolve_base(BaseModelConfig())
    assert again.identity == offline_base.identity
    assert (again.path / "model.safetensors").stat().st_mtime_ns == mtime  # loaded from cache, not reconverted


def test_concurrent_first_calls_convert_once(tmp_path, monkeypatch):
    calls = []

    def fake_convert(gguf, sha, out):
        calls.append(out)
        time.sleep(0.3)  # a slow conversion: without the lock the other thread would start its own
        (out / "model.safetensors").write_bytes(b"weights")
        marker = {"sha256": sha, "weights_sha256": "w"}
        (out / MARKER).write_text(json.dumps(marker))
        return marker

    monkeypatch.setattr(base_model, "_convert_gguf", fake_convert)
    folder = tmp_path / "models" / "cache-x"
    results = []
    threads = [threading.Thread(target=lambda: results.append(
        base_model._convert_once(base_model.gguf_path(), "abc", folder))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert results == [{"sha256": "abc", "weights_sha256": "w"}] * 2
    assert sorted(p.name for p in folder.parent.iterdir() if not p.name.endswith(".lock")) == ["cache-x"]


def test_stale_cache_with_wrong_key_is_rebuilt(tmp_path, monkeypatch):
    folder = tmp_path / "cache-y"
    folder.mkdir()
    (folder / MARKER).write_text(json.dumps({"sha256": "old"}))
    (folder / "junk").write_text("half-written")

    def fake_convert(gguf, sha, out):
        (out / MARKER).write_text(json.dumps({"sha256": sha, "weights_sha256": "w"}))
        return {"sha256": sha, "weights_sha256": "w"}

    monkeypatch.setattr(base_model, "_convert_gguf", fake_convert)
    base_model._convert_once(base_model.gguf_path(), "new", folder)
    assert json.loads((folder / MARKER).read_text())["sha256"] == "new"
    assert not (folder / "junk").exists()


def test_hub_name_not_cached_says_there_is_no_hub_access():
    with pytest.raises(BaseModelError) as err:
        resolve_base(BaseModelConfig(name="riskft-tests/not-a-cached-model"))
    message = str(err.value)
    assert "no hub access" in message
    assert "local" in message and "folder" in message
    assert isinstance(err.value, InputError)  # the CLI turns it into exit code 2


def test_missing_local_path_is_a_clear_error(tmp_path):
    with pytest.raises(BaseModelError, match="no such folder"):
        resolve_base(BaseModelConfig(name=str(tmp_path / "nowhere" / "model")))


def test_pickle_weights_are_refused(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "pytorch_model.bin").write_bytes(b"\x80\x04not really a pickle")
    with pytest.raises(BaseModelError, match="safetensors only"):
        resolve_base(BaseModelConfig(name=str(tmp_path)))


def test_local_folder_with_safetensors_resolves_with_weight_hash(offline_base):
    ref = resolve_base(BaseModelConfig(name=str(offline_base.path)))
    assert ref.identity["source"] == "local"
    assert ref.identity["weights_sha256"] == offline_base.identity["weights_sha256"]
