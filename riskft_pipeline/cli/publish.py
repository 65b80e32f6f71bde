"""``riskft publish MODEL VERSION --repo-id OWNER/NAME``: upload a registered version's adapter with its model card
to the Hugging Face Hub. Opt-in on every count: nothing is published by any other command, the runs are offline by
default (``HF_HUB_OFFLINE=1``; publishing needs ``HF_HUB_OFFLINE=0`` set explicitly), and the token is read from the
``HF_TOKEN`` environment variable only (never from the command line, a file in the repository, or a cached login).

What goes up is the registered version's adapter folder as the registry holds it (so exactly what lineage hashed),
restricted to what a PEFT user needs: the weights (``*.safetensors``), ``adapter_config.json``, the tokenizer and
generation files, and ``README.md``, the model card (base model, data hashes, metrics against the baselines,
intended use, limitations). ``adapter_config.json``'s base model is the card's public base-model id, not this
machine's folder; ``riskft_adapter.json`` (the full recipe and local identity) stays in the registry. A file that
still names a local path is refused before anything is sent.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

from riskft_pipeline.cli.common import CliError, print_json
from riskft_pipeline.core.tasks import TICKETS

TOKEN_ENV = "HF_TOKEN"
CARD = "README.md"
#: the files of an adapter folder that are published (fnmatch-free: exact names, or a suffix for the weights)
PUBLISHED = ("adapter_config.json", CARD, "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
             "chat_template.jinja", "generation_config.json", "vocab.json", "merges.txt", "added_tokens.json")
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def cmd_publish(args) -> int:
    result = publish(args.model, args.version, args.repo_id, private=not args.public, dry_run=args.dry_run)
    print_json(result)
    return 0


def publish(model: str, version: str, repo_id: str, *, private: bool = True, dry_run: bool = False, api=None,
            tracking_uri: str | None = None) -> dict:
    """Upload ``model``'s ``version`` (a number or ``@alias``) to ``repo_id``. ``api``: an ``HfApi``-like object
    (tests inject a fake; by default ``huggingface_hub.HfApi`` with the token from ``HF_TOKEN``). Returns what was
    (or, with ``dry_run``, would be) uploaded."""
    if not _REPO_ID.match(repo_id):
        raise CliError(f"--repo-id must look like OWNER/NAME, got {repo_id!r}")
    ref = version.strip()
    uri = f"models:/{model}/{ref}" if ref.isdigit() else f"models:/{model}@{ref.removeprefix('@')}"
    token = None
    if not dry_run:
        token = os.environ.get(TOKEN_ENV)
        if not token:
            raise CliError(f"set {TOKEN_ENV} in the environment to a Hugging Face write token to publish "
                           "(it is never read from the command line or a file)")
        if api is None and os.environ.get("HF_HUB_OFFLINE", "") not in ("0", "false", "False", ""):
            raise CliError("publishing needs the network: run with HF_HUB_OFFLINE=0 (riskft is offline by default)")

    from riskft_pipeline.tracking.resolve import fetch_model

    files = fetch_model(uri, tracking_uri=tracking_uri)
    with tempfile.TemporaryDirectory(prefix="riskft-publish-") as tmp:
        staged = stage(files.adapter_dir, Path(tmp) / "upload")
        names = sorted(p.name for p in staged.iterdir())
        result = {"model": files.name, "version": files.version, "repo_id": repo_id, "files": names,
                  "private": private, "uploaded": False}
        if dry_run:
            return result
        if api is None:
            from huggingface_hub import HfApi

            api = HfApi(token=token)
        api.create_repo(repo_id=repo_id, repo_type="model", private=private, exist_ok=True)
        commit = api.upload_folder(folder_path=str(staged), repo_id=repo_id, repo_type="model",
                                   commit_message=f"{files.name} version {files.version} (riskft publish)")
    return {**result, "uploaded": True, "commit": str(getattr(commit, "commit_url", commit))}


def stage(adapter_dir: Path, dest: Path) -> Path:
    """The publishable files of ``adapter_dir`` copied into ``dest``; refuses a folder without its model card or
    weights, and any staged file that still names a path of this machine."""
    if not (adapter_dir / CARD).is_file():
        raise CliError(f"{adapter_dir} has no {CARD} model card (it is written by the evaluation): not publishing "
                       "an adapter without one")
    weights = sorted(adapter_dir.glob("*.safetensors"))
    if not weights:
        raise CliError(f"{adapter_dir} holds no *.safetensors weights")
    dest.mkdir(parents=True)
    for path in [*weights, *(adapter_dir / n for n in PUBLISHED)]:
        if path.is_file():
            shutil.copy2(path, dest / path.name)
    _public_base(dest / "adapter_config.json", adapter_dir)
    _refuse_local_paths(dest)
    return dest


def _public_base(config_file: Path, adapter_dir: Path) -> None:
    """``base_model_name_or_path`` as the card's public id (a local folder means nothing on the hub)."""
    if not config_file.is_file():
        return
    from riskft_pipeline.core.adapter_files import read_adapter_meta
    from riskft_pipeline.core.model_card import base_model_id

    config = json.loads(config_file.read_text(encoding="utf-8"))
    try:
        identity = (read_adapter_meta(adapter_dir).get("base_model") or {})
        identity = identity.get("identity", identity) if isinstance(identity, dict) else {}
    except Exception:  # noqa: BLE001 - no metadata: fall back to the card's front matter below
        identity = {}
    public = base_model_id(identity) if identity else _card_base(adapter_dir)  # None for a local folder
    if public:
        config["base_model_name_or_path"] = public
    else:
        config.pop("base_model_name_or_path", None)
    config_file.write_text(json.dumps(config, indent=2, sort_keys=True), encoding="utf-8")


def _card_base(adapter_dir: Path) -> str | None:
    m = re.search(r"^base_model:\s*(\S+)\s*$", (adapter_dir / CARD).read_text(encoding="utf-8"), re.MULTILINE)
    return m.group(1) if m else None


def _refuse_local_paths(folder: Path) -> None:
    from riskft_pipeline import paths

    local = {str(paths.riskft_home()), str(Path.home()), str(paths.repo_root())}
    local = {p for p in local if len(p) > 1}
    for path in sorted(folder.iterdir()):
        if path.suffix == ".safetensors":
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        found = sorted(p for p in local if p in text)
        if found:
            raise CliError(f"{path.name} names a path of this machine ({found[0]}): not publishing it")


def add_parser(sub) -> None:
    s = sub.add_parser("publish", help="upload a registered version's adapter and model card to the Hugging Face "
                                       "Hub (opt-in; token from $HF_TOKEN, needs HF_HUB_OFFLINE=0)")
    s.add_argument("model", help=f"registered model name, e.g. {TICKETS.model_name}")
    s.add_argument("version", help="a version number or @alias, e.g. 3 or @champion")
    s.add_argument("--repo-id", required=True, help="the hub model repository, OWNER/NAME (created if missing)")
    s.add_argument("--public", action="store_true", help="create the repository public (default: private)")
    s.add_argument("--dry-run", action="store_true", help="list the files that would be uploaded; send nothing")
    s.set_defaults(func=cmd_publish)
