"""Run every benchmark in sequence (each in its own interpreter) and print a summary of their ratio lines.

    python benchmarks/run_all.py --quick     # make bench: a few minutes on a quiet 2-core machine
    python benchmarks/run_all.py             # make bench-full: the full modes (the 1M-row prep, make run, ...)

``--threads N`` goes to the model benchmarks (1 is steadier on a busy machine). Exit status 1 when a script fails
or prints no ratio line; a missed target is reported, not an error.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import benchlib

SCRIPTS = (  # cheapest first; training and make run last
    ("prep", "bench_prep.py", []),
    ("orchestration", "bench_orchestration.py", []),
    ("risk scoring", "bench_risk_scoring.py", ["threads"]),
    ("generation", "bench_generation.py", ["threads"]),
    ("label scoring", "bench_label_scoring.py", ["threads"]),
    ("training (CPU)", "bench_training.py", ["threads"]),
    ("training (GPU; CPU dry run without one)", "bench_gpu_training.py", ["threads"]),
    ("end to end", "bench_end_to_end.py", ["threads"]),
)


def run(script: str, mode_flags: list[str]) -> tuple[int, str, float]:
    """Stream the script's output through, keep it for the summary; returns (exit code, output, seconds)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, str(benchlib.BENCH_DIR / script), *mode_flags],
                            stdout=subprocess.PIPE, text=True)
    lines = []
    for line in proc.stdout:
        print(line, end="", flush=True)
        lines.append(line)
    return proc.wait(), "".join(lines), time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    benchlib.add_mode_flags(parser)
    parser.add_argument("--threads", type=int, help="passed to the model benchmarks")
    parser.add_argument("--only", nargs="*", help="script names to run (e.g. bench_prep.py)")
    args = parser.parse_args(argv)
    mode_flags = ["--quick"] if args.quick else ["--smoke"] if args.smoke else []
    summary, failed = [], False
    for label, script, extra in SCRIPTS:
        if args.only and script not in args.only:
            continue
        flags = mode_flags + (["--threads", str(args.threads)] if args.threads and "threads" in extra else [])
        print(f"\n=== {label}: {script} {' '.join(flags)}", flush=True)
        code, output, seconds = run(script, flags)
        parsed = benchlib.parse_ratio(output)
        failed |= code != 0 or parsed is None
        ratio = output.strip().splitlines()[-1] if parsed else f"(no ratio line; exit {code})"
        summary.append([label, f"{seconds:.0f}", ratio.removeprefix("ratio: ")])
    print(f"\n=== summary ({benchlib.mode_of(args)} mode, load average now {benchlib.load_average()})")
    print(benchlib.table(["benchmark", "seconds", "ratio"], summary))
    return 1 if failed else 0


if __name__ == "__main__":
    benchlib.offline_env()
    sys.exit(main())
