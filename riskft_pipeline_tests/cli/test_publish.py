"""``riskft publish``: a registered version's adapter and model card go to the hub, tested up to the network
boundary with a fake ``HfApi``: which files, which repository, the token from the environment only."""

from __future__ import annotations

import json

import mlflow
import pytest

from riskft_pipeline.cli import build_parser, main
from riskft_pipeline.cli.common import CliError
from riskft_pipeline.cli.publish import TOKEN_ENV, publish
from riskft_pipeline_tests.ops import helpers

CARD = "---\nlibrary_name: peft\nbase_model: HuggingFaceTB/SmolLM2-135M-Instruct\n---\n\n# card\n"


class FakeHfApi:
    """Records what would be sent; reads the staged folder while it exists (as the real upload does)."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.uploaded: dict[str, bytes] = {}

    def create_repo(self, **kwargs):
        self.calls.append(("create_repo", kwargs))

    def upload_folder(self, *, folder_path, **kwargs):
        from pathlib import Path

        self.calls.append(("upload_folder", kwargs))
        self.uploaded = {p.name: p.read_bytes() for p in Path(folder_path).iterdir()}
        return "https://huggingface.co/owner/name/commit/abc"


@pytest.fixture
def registered(tmp_path, monkeypatch):
    monkeypatch.setenv("RISKFT_HOME", str(tmp_path / "home"))
    for var in ("RISKFT_TRACKING_URI", "MLFLOW_TRACKING_URI", TOKEN_ENV):
        monkeypatch.delenv(var, raising=False)
    recipe = helpers.tickets_recipe()
    adapter = helpers.fake_adapter(tmp_path / "adapter", recipe)
    config = {"r": 2, "base_model_name_or_path": str(tmp_path / "home" / "models" / "smollm2")}  # a local path
    (adapter / "adapter_config.json").write_text(json.dumps(config), encoding="utf-8")
    (adapter / "README.md").write_text(CARD, encoding="utf-8")
    (adapter / "tokenizer.json").write_text("{}", encoding="utf-8")
    (adapter / "training_args.bin").write_bytes(b"pickle")
    try:
        reg = helpers.register(adapter, recipe, helpers.split_files(tmp_path / "splits"))
    finally:
        mlflow.set_tracking_uri(None)
        mlflow.set_registry_uri(None)
    return reg


def test_uploads_the_registered_adapter_with_its_card(registered, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, "hf_test_token")
    api = FakeHfApi()
    result = publish("ticket-extractor", "@champion", "owner/ticket-extractor", api=api)
    assert result["uploaded"] and result["version"] == registered["version"]
    assert [c[0] for c in api.calls] == ["create_repo", "upload_folder"]
    assert api.calls[0][1] == {"repo_id": "owner/ticket-extractor", "repo_type": "model", "private": True,
                               "exist_ok": True}
    assert set(api.uploaded) == {"adapter_model.safetensors", "adapter_config.json", "README.md", "tokenizer.json"}
    assert result["files"] == sorted(api.uploaded)
    assert api.uploaded["README.md"].decode() == CARD
    config = json.loads(api.uploaded["adapter_config.json"])
    # the fake base (offline:fake) has no public id: the local path is dropped, never sent
    assert "base_model_name_or_path" not in config and config["r"] == 2


def test_the_token_comes_from_the_environment_only(registered, monkeypatch, capsys):
    with pytest.raises(CliError, match=f"set {TOKEN_ENV} in the environment"):
        publish("ticket-extractor", "1", "owner/name", api=FakeHfApi())
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices["publish"]
    assert not any("token" in opt for a in sub._actions for opt in a.option_strings), "no --token option"
    assert main(["publish", "ticket-extractor", "1", "--repo-id", "owner/name"]) == 2
    assert TOKEN_ENV in capsys.readouterr().err
    monkeypatch.setenv(TOKEN_ENV, "hf_test_token")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main(["publish", "ticket-extractor", "1", "--repo-id", "owner/name"]) == 2, "offline unless told"
    assert "HF_HUB_OFFLINE=0" in capsys.readouterr().err


def test_dry_run_lists_the_files_and_sends_nothing(registered, capsys):
    assert main(["publish", "ticket-extractor", "1", "--repo-id", "owner/name", "--dry-run"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["uploaded"] is False and "README.md" in out["files"] and "training_args.bin" not in out["files"]
    assert main(["publish", "ticket-extractor", "1", "--repo-id", "not a repo id", "--dry-run"]) == 2


def test_an_adapter_without_card_or_with_a_local_path_is_refused(tmp_path, monkeypatch):
    from riskft_pipeline.cli.publish import stage

    monkeypatch.setenv("RISKFT_HOME", str(tmp_path / "home"))
    adapter = helpers.fake_adapter(tmp_path / "adapter", helpers.tickets_recipe())
    with pytest.raises(CliError, match="no README.md model card"):
        stage(adapter, tmp_path / "out1")
    (adapter / "README.md").write_text(f"trained from {tmp_path / 'home'}/models/x\n", encoding="utf-8")
    with pytest.raises(CliError, match="README.md names a path of this machine"):
        stage(adapter, tmp_path / "out2")
