"""Training throughput on a GPU: the GPU ticket recipe (``configs/tickets_gpu.yaml``: Qwen2.5-3B-Instruct, LoRA r=32,
bf16, padding-free) trained by ``training.sft.train`` for a few steps; steady-state tokens/s (the first step, with
its allocations and kernel selection, is left out), model FLOPs utilisation, the projected time of the seed-size job
(700 examples × 3 epochs), and the same for QLoRA (4-bit base through bitsandbytes) with peak GPU memory.

MFU = achieved model FLOP/s ÷ the bf16 matmul rate measured on the same card in the same run (a large square
matmul), where model FLOPs per token for LoRA = 4 × (parameters of the linear layers, LM head included: forward 2,
backward to the activations 2; frozen weights get no gradient) + 12 × layers × hidden × sequence length
(attention scores and values, forward and backward) + 6 × LoRA parameters. Recomputation is not counted.

``--device cpu`` runs the same machinery with the offline base in fp32 (no GPU in the task that wrote this): its
figures only show that the script works. The device machine has no model hub: pass ``--model`` a local folder.

    python benchmarks/bench_gpu_training.py                      # cuda if present: 30 steps, + QLoRA
    python benchmarks/bench_gpu_training.py --device cpu --quick # offline base, 3 steps, CPU dry run
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import benchdata
import benchlib
from benchlib import Ratio, say

NAME = "gpu_training"
TARGET_MFU = 0.45
SEED_JOB = (700, 3)  # examples, epochs
TARGET_SEED_JOB_S = 120.0
STEPS = {"smoke": 2, "quick": 10, "full": 30}


def pick_device(choice: str) -> str:
    import torch

    if choice == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if choice == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device here")
    return choice


def recipe_for(device: str, model: str | None, steps: int, qlora: bool, batch: int | None = None,
               examples: int | None = None, epochs: int | None = None):
    """The GPU recipe as shipped; on CPU the offline base in fp32 with per-example padding (padding-free batches
    need flash attention to keep examples apart), small batches."""
    from riskft_pipeline import paths
    from riskft_pipeline.core.config import OFFLINE_BASE, load_recipe

    recipe = load_recipe(paths.configs_dir() / "tickets_gpu.yaml")
    base = recipe.base_model.model_copy(update={"load_in_4bit": qlora})
    train = {"max_steps": steps, "save_steps": 10**6, "logging_steps": 1}
    if batch:
        train["per_device_batch_size"] = batch
    if examples:
        train.update(max_train_examples=examples, epochs=epochs or 1, max_steps=-1, logging_steps=5)
    if device == "cpu":
        base = base.model_copy(update={"name": model or OFFLINE_BASE, "dtype": "float32", "load_in_4bit": False})
        train.update(bf16=False, padding_free=False, per_device_batch_size=2, group_by_length=True)
    elif model:
        base = base.model_copy(update={"name": model})
    return recipe.model_copy(update={"base_model": base, "train": recipe.train.model_copy(update=train)})


def matmul_peak(device: str) -> float:
    """Measured FLOP/s of a large square matmul: bf16 8192² on CUDA, fp32 2048² on CPU."""
    import torch

    n, dtype = (8192, torch.bfloat16) if device == "cuda" else (2048, torch.float32)
    a, b = torch.randn(n, n, dtype=dtype, device=device), torch.randn(n, n, dtype=dtype, device=device)
    reps = 20 if device == "cuda" else 3

    def sync():
        if device == "cuda":
            torch.cuda.synchronize()

    a @ b
    sync()
    t0 = time.perf_counter()
    for _ in range(reps):
        a @ b
    sync()
    return 2 * n**3 * reps / (time.perf_counter() - t0)


def model_flops_per_token(base_path: Path, lora_r: int, seq_len: float) -> tuple[float, dict]:
    """LoRA training FLOPs per token (see the module docstring) from the model's config."""
    import json

    cfg = json.loads((base_path / "config.json").read_text())
    h, inter, layers = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
    kv = cfg.get("num_key_value_heads", cfg["num_attention_heads"]) * (h // cfg["num_attention_heads"])
    shapes = [(h, h), (h, kv), (h, kv), (h, h), (h, inter), (h, inter), (inter, h)]  # q k v o gate up down
    linear = layers * sum(i * o for i, o in shapes) + h * cfg["vocab_size"]
    lora = layers * sum(lora_r * (i + o) for i, o in shapes)
    flops = 4 * linear + 12 * layers * h * seq_len + 6 * lora
    return flops, {"linear_params": linear, "lora_params": lora, "layers": layers, "hidden": h}


def train_steps(recipe, data_dir: Path, out: Path, device: str) -> dict:
    """``sft.train`` with a per-step clock; steady-state tokens/s from step 2 on (step 1 warms up)."""
    import torch

    from riskft_pipeline.training.sft import train

    marks: list[tuple[int, float, int]] = []

    def clock(step: int, logs: dict) -> None:
        if device == "cuda":
            torch.cuda.synchronize()
        if "num_input_tokens_seen" in logs:
            marks.append((step, time.perf_counter(), int(logs["num_input_tokens_seen"])))

    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    result = train(recipe, data_dir, out, callbacks=[clock], resume=False, progress=False)
    if len(marks) >= 2:
        (_, t0, n0), (_, t1, n1) = marks[0], marks[-1]
        steady = (n1 - n0) / (t1 - t0)
    else:
        steady = result["tokens_per_s"]
    return {"tokens_per_s": steady, "tokens_per_s_incl_first_step": result["tokens_per_s"],
            "steps": result["steps"], "runtime_s": result["train_runtime_s"],
            "peak_gpu_mem_gib": torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else None,
            "base_path_name": result["base_model"].get("name")}


def seed_job_seconds(tokens_per_s: float, lengths: list[int]) -> float:
    examples, epochs = SEED_JOB
    return examples * epochs * statistics.mean(lengths) / tokens_per_s


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    benchlib.add_mode_flags(parser)
    parser.add_argument("--device", choices=["auto", "cuda", "cpu"], default="auto")
    parser.add_argument("--model", help="base model folder (default: the recipe's; the offline base on CPU)")
    parser.add_argument("--no-qlora", action="store_true", help="skip the 4-bit run (CUDA only anyway)")
    parser.add_argument("--batch-sizes", default="", help="also measure these batch sizes, e.g. 32,64")
    parser.add_argument("--seed-job", action="store_true",
                        help="also train the whole seed-size job (700 examples x 3 epochs) and time it (CUDA)")
    benchlib.add_threads_flag(parser)
    args = parser.parse_args(argv)
    mode = benchlib.mode_of(args)
    device = pick_device(args.device)
    threads = benchlib.apply_threads(args)
    steps = STEPS[mode] if device == "cuda" else min(STEPS[mode], 3)
    ctx = benchlib.context()
    from riskft_pipeline.training.base_model import resolve_base
    from riskft_pipeline.training.sft import encode_rows, read_split

    recipe = recipe_for(device, args.model, steps, qlora=False)
    base_path = resolve_base(recipe.base_model).path
    runs: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-gpu-") as tmp_name:
        tmp = Path(tmp_name)
        data_dir = benchdata.ticket_data(tmp / "data")
        from riskft_pipeline.training.base_model import load_tokenizer

        examples, _ = encode_rows(load_tokenizer(base_path), read_split(data_dir / "train.jsonl"),
                                  recipe.train.max_length)
        lengths = [len(e["input_ids"]) for e in examples]
        say(f"peak matmul rate on {device}")
        peak = matmul_peak(device)
        say(f"LoRA: {steps} steps on {device}")
        runs["LoRA"] = train_steps(recipe, data_dir, tmp / "lora", device)
        for b in [int(x) for x in args.batch_sizes.split(",") if x.strip()]:
            say(f"LoRA batch {b}: {steps} steps")
            runs[f"LoRA batch {b}"] = train_steps(recipe_for(device, args.model, steps, qlora=False, batch=b),
                                                  data_dir, tmp / f"lora-b{b}", device)
        if args.seed_job and device == "cuda":
            say(f"seed job: {SEED_JOB[0]} examples x {SEED_JOB[1]} epochs")
            t0 = time.perf_counter()
            seed = train_steps(recipe_for(device, args.model, steps, qlora=False, examples=SEED_JOB[0],
                                          epochs=SEED_JOB[1]), data_dir, tmp / "seed", device)
            seed["wall_s_incl_load"] = time.perf_counter() - t0
            runs["seed job (measured)"] = seed
        if device == "cuda" and not args.no_qlora:
            say(f"QLoRA: {steps} steps")
            try:
                runs["QLoRA 4-bit"] = train_steps(recipe_for(device, args.model, steps, qlora=True), data_dir,
                                                  tmp / "qlora", device)
            except (ImportError, RuntimeError, ValueError) as e:  # bitsandbytes missing or unsupported: LoRA stands
                runs["QLoRA 4-bit"] = {"error": f"{type(e).__name__}: {e}"[:300]}

    flops, shape = model_flops_per_token(base_path, recipe.lora.r, statistics.mean(lengths))
    rows = []
    for name, r in runs.items():
        if "error" in r:
            rows.append([name, r["error"], "", "", "", ""])
            continue
        r["mfu"] = flops * r["tokens_per_s"] / peak
        r["seed_job_s"] = r["runtime_s"] if "wall_s_incl_load" in r else seed_job_seconds(r["tokens_per_s"], lengths)
        rows.append([name, r["tokens_per_s"], r["mfu"], r["seed_job_s"],
                     r["peak_gpu_mem_gib"] if r["peak_gpu_mem_gib"] is not None else "n/a", r["steps"]])
    dtype = "bf16" if device == "cuda" else "fp32"
    print(f"LoRA training throughput on {device} ({benchlib.cpu_model() if device == 'cpu' else gpu_name()}), "
          f"base {recipe.base_model.name}, {dtype}, r={recipe.lora.r}, batch {recipe.train.per_device_batch_size}, "
          f"{steps} steps; measured {dtype} matmul peak {peak / 1e12:.2f} TFLOP/s; "
          f"{flops / 1e9:.2f} GFLOP per token ({shape['linear_params'] / 1e6:.0f}M linear params)\n")
    print(benchlib.table(["run", "tokens/s (steady)", "MFU", f"seed job s ({SEED_JOB[0]}x{SEED_JOB[1]})",
                          "peak GPU GiB", "steps"], rows))
    if device == "cpu":
        print("\nCPU dry run: no GPU was lent; these figures only show that the script works. On the device: "
              "python benchmarks/bench_gpu_training.py --model /path/to/Qwen2.5-3B-Instruct")
    else:
        measured = runs.get("seed job (measured)")
        seed_s = measured["runtime_s"] if measured else runs["LoRA"]["seed_job_s"]
        verdict = "met" if seed_s < TARGET_SEED_JOB_S else "missed"
        how = (f"measured: {seed_s:.0f} s of training, {measured['wall_s_incl_load']:.0f} s with model load"
               if measured else f"projected at {seed_s:.0f} s")
        print(f"\nseed-size job {how} (target < {TARGET_SEED_JOB_S:.0f} s): {verdict}")
    figures = {"device": device, "threads": threads, "peak_flops": peak, "flops_per_token": flops, "shape": shape,
               "runs": runs,
               "median_tokens_per_example": statistics.median(lengths)}
    ratio = Ratio(runs["LoRA"]["mfu"], f"of the measured {dtype} matmul rate (MFU, LoRA, {device})", TARGET_MFU)
    benchlib.finish(NAME, mode, ctx, figures, ratio)
    return 0


def gpu_name() -> str:
    import torch

    return torch.cuda.get_device_name(0)


if __name__ == "__main__":
    benchlib.offline_env()
    sys.exit(main())
