"""Servers the project starts listen on loopback only, and the repository holds no credentials."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from riskft_pipeline.paths import repo_root

ROOT = repo_root()
SERVER_COMMANDS = re.compile(r"\b(?:dagster(?:-webserver)? dev|dagster-webserver|mlflow (?:ui|server)|uvicorn|"
                             r"gunicorn|jupyter)\b")


def _make_targets(text: str) -> dict[str, list[str]]:
    """Target name -> its recipe lines (backslash continuations joined)."""
    text = text.replace("\\\n", " ")
    targets: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)\s*:(?!=)", line)
        if match:
            current = match.group(1)
            targets[current] = []
        elif line.startswith("\t") and current:
            targets[current].append(line.strip())
    return targets


def test_make_ui_targets_bind_to_loopback():
    targets = _make_targets((ROOT / "Makefile").read_text(encoding="utf-8"))
    for name in ("ui", "mlflow-ui"):
        servers = [line for line in targets[name] if SERVER_COMMANDS.search(line)]
        assert servers, f"make {name} starts no server?"
        for line in servers:
            assert re.search(r"(?:-h|--host)[ =]127\.0\.0\.1\b", line), f"make {name}: {line}"


def test_nothing_binds_to_all_interfaces():
    files = [ROOT / "Makefile", *(ROOT / "riskft_pipeline").rglob("*.py"), *(ROOT / "configs").glob("*.yaml"),
             *(ROOT / "riskft_pipeline_tests").rglob("*.py"), ROOT / "workspace.yaml"]
    offenders = [str(p.relative_to(ROOT)) for p in files
                 if p.is_file() and re.search(r"0\.0\.0\.0|host\s*=\s*['\"]?(?:\*|::)['\"]?", p.read_text("utf-8"))]
    assert offenders == []


# Patterns are assembled from pieces so this file does not match itself.
_SECRET_PATTERNS = {
    "AWS access key id": "AKIA" + r"[0-9A-Z]{16}",
    "AWS secret key assignment": r"(?i)aws_secret_access_key\s*[=:]\s*['\"]?[A-Za-z0-9/+=]{40}",
    "Hugging Face token": "hf" + r"_[A-Za-z0-9]{34,}",
    "GitHub token": "gh" + r"[pousr]_[A-Za-z0-9]{36,}",
    "OpenAI-style key": "sk" + r"-[A-Za-z0-9_-]{32,}",
    "Slack token": "xox" + r"[abprs]-[A-Za-z0-9-]{10,}",
    "private key": "-----BEGIN " + r"(?:RSA |EC |OPENSSH |DSA |PGP )?PRIVATE KEY-----",
    # Documentation placeholders (secret, password, changeme, ***, ${VAR}, <pw>) are not credentials.
    "password in a URL": r"[a-z][a-z0-9+.-]*://[^/\s:@'\"]+:(?!(?:secret|password|passwd|changeme|example|x+)@)"
                         r"[^/\s@'\"{}$<>*]{4,}@(?!localhost|127\.0\.0\.1)",
}


# Tests build URLs with made-up passwords to check that they are masked; real tokens are caught everywhere.
_TEST_FIXTURE_KINDS = ("password in a URL",)


def _repository_files() -> list[Path]:
    """Tracked files plus untracked ones git would not ignore: what a commit could publish."""
    try:
        listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT,
                                capture_output=True, check=True, timeout=60).stdout.decode().split("\0")
        files = [ROOT / name for name in listed if name]
    except (OSError, subprocess.CalledProcessError):
        skip = {".git", ".venv", ".riskft", "__pycache__", ".pytest_cache", ".hypothesis"}
        files = [p for p in ROOT.rglob("*") if not skip & set(p.relative_to(ROOT).parts)]
    return [p for p in files if p.is_file() and p.stat().st_size < 5_000_000]


def test_no_credentials_in_the_repository():
    patterns = {name: re.compile(p) for name, p in _SECRET_PATTERNS.items()}
    files = _repository_files()
    assert any(p.name == "pyproject.toml" for p in files)  # the listing found the repository
    hits = []
    for path in files:
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue  # binary
        text = data.decode("utf-8", errors="replace")
        in_tests = path.relative_to(ROOT).parts[0] == "riskft_pipeline_tests"
        hits += [f"{path.relative_to(ROOT)}: {name}" for name, rx in patterns.items()
                 if rx.search(text) and not (in_tests and name in _TEST_FIXTURE_KINDS)]
    assert hits == []


def test_the_secret_patterns_do_find_secrets():
    fake = {"AWS access key id": "AKIA" + "ABCDEFGHIJKLMNOP", "Hugging Face token": "hf_" + "a1" * 17,
            "private key": "-----BEGIN " + "OPENSSH PRIVATE KEY-----", "password in a URL": "postgresql://u:" +
            "hunter22@db.example.com/x"}
    for name, sample in fake.items():
        assert re.search(_SECRET_PATTERNS[name], sample), name
    for harmless in ("postgresql://user@localhost/db", "postgresql://app:secret@db.internal/x",
                     "postgresql://app:${PGPASSWORD}@db/x", "postgresql://app:***@db/x"):
        assert not re.search(_SECRET_PATTERNS["password in a URL"], harmless), harmless
