"""Kill a training process after its first complete checkpoint, restart it: it resumes from that checkpoint (never
from a half-written one) and ends at the same total step count."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import yaml

from riskft_pipeline.paths import repo_root
from riskft_pipeline.training.sft import ADAPTER_META, is_complete_checkpoint, last_complete_checkpoint

TOTAL_STEPS = 6


def _launch(recipe_file, data, out) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(repo_root()), os.environ.get("PYTHONPATH")]))}
    cmd = [sys.executable, "-m", "riskft_pipeline.training.sft", "--recipe", str(recipe_file), "--data", str(data),
           "--out", str(out)]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _wait_for_checkpoint(proc: subprocess.Popen, ckpt_dir, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ckpt_dir.is_dir() and last_complete_checkpoint(ckpt_dir) is not None:
            return
        if proc.poll() is not None:
            raise AssertionError(f"training exited before its first checkpoint:\n{proc.stderr.read()[-3000:]}")
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("no checkpoint within the timeout")


def test_resume_after_sigkill_continues_from_last_complete_checkpoint(offline_base, tiny_recipe, chat_data,
                                                                      tmp_path):
    spec = tiny_recipe.model_dump(mode="json")
    spec["train"].update(max_steps=TOTAL_STEPS, save_steps=2, save_total_limit=5)
    recipe_file = tmp_path / "resume.yaml"
    recipe_file.write_text(yaml.safe_dump(spec))
    out = tmp_path / "run"
    ckpts = out / "checkpoints"

    first = _launch(recipe_file, chat_data, out)
    _wait_for_checkpoint(first, ckpts)
    first.send_signal(signal.SIGKILL)
    first.wait(30)
    assert not (out / "adapter").exists()
    done = last_complete_checkpoint(ckpts)
    assert done is not None
    resumed_step = int(done.name.split("-")[1])
    assert resumed_step < TOTAL_STEPS

    # a checkpoint the kill interrupted mid-write (weights there, trainer state not yet) must be ignored
    half = ckpts / f"checkpoint-{resumed_step + 2}"
    shutil.rmtree(half, ignore_errors=True)
    half.mkdir()
    shutil.copy(done / "adapter_model.safetensors", half / "adapter_model.safetensors")
    assert not is_complete_checkpoint(half)

    second = _launch(recipe_file, chat_data, out)
    _, err = second.communicate(timeout=300)
    assert second.returncode == 0, err[-3000:]
    train = json.loads((out / "adapter" / ADAPTER_META).read_text())["train"]
    assert train["resumed_from_step"] == resumed_step
    assert train["steps"] == TOTAL_STEPS
    assert train["steps_this_session"] == TOTAL_STEPS - resumed_step
    assert last_complete_checkpoint(ckpts).name == f"checkpoint-{TOTAL_STEPS}"
