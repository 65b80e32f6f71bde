"""What every benchmark script shares: the machine/commit/load context, the side-by-side table, the ratio line
(always the last line printed) and the JSON record appended under ``benchmarks/out/``.

The scripts run as ``python benchmarks/bench_<name>.py``, so this module is imported from the script's folder; it
imports only the standard library (the scripts import the heavy libraries themselves, inside their functions).
"""

from __future__ import annotations

import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Self

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
OUT_DIR = BENCH_DIR / "out"
RATIO_RE = re.compile(
    r"^ratio: (?P<value>\d+(?:\.\d+)?)x (?P<what>.+) \(target (?P<op>>=|<=) (?P<target>\d+(?:\.\d+)?)x\) "
    r"(?P<verdict>met|missed)$"
)


def offline_env() -> None:
    """The project never reaches the network at run time; neither do its benchmarks."""
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        os.environ.setdefault(var, "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("MPLBACKEND", "Agg")


def git_commit() -> str:
    """Short commit of the checkout, ``+dirty`` when the tree has changes, or ``none`` before the first commit."""
    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=False)

    head = git("rev-parse", "--short", "HEAD")
    if head.returncode != 0:
        return "none (no commit yet)"
    dirty = git("status", "--porcelain").stdout.strip()
    return head.stdout.strip() + ("+dirty" if dirty else "")


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_gib() -> float | None:
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        return round(pages * size / 2**30, 1)
    except (ValueError, OSError):
        return None


def context() -> dict:
    """Where and when the figures were taken: they mean little without it (the load above all, on a shared box)."""
    return {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "commit": git_commit(),
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "memory_gib": memory_gib(),
                    "platform": platform.platform(), "python": platform.python_version()},
        "loadavg_start": load_average(),
    }


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB.

    ``VmHWM`` from /proc, not ``ru_maxrss``: Linux keeps ``ru_maxrss`` across fork + exec, so a worker started by a
    parent that once held a large frame would report the parent's peak, not its own.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def median_spread(values: Sequence[float]) -> tuple[float, float, float]:
    """Median, min and max: the spread says how much a noisy machine moved the figure."""
    return statistics.median(values), min(values), max(values)


def fmt(value, digits: int = 3) -> str:
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def table(headers: Sequence[str], rows: Sequence[Sequence]) -> str:
    """A plain fixed-width table (readable in a terminal and pasteable into Markdown as a code block)."""
    cells = [[str(h) for h in headers]] + [[fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


@dataclass(frozen=True)
class Ratio:
    """The headline figure: project path over baseline (or the reverse for a cost), against its target."""

    value: float
    what: str
    target: float
    higher_is_better: bool = True
    valid: bool = True  # False when the measured run failed: the target cannot be met by a failure

    @property
    def met(self) -> bool:
        ok = self.value >= self.target if self.higher_is_better else self.value <= self.target
        return ok and self.valid

    def line(self) -> str:
        op = ">=" if self.higher_is_better else "<="
        value = f"{self.value:.2f}" if self.value < 100 else f"{self.value:.0f}"
        return f"ratio: {value}x {self.what} (target {op} {self.target:g}x) {'met' if self.met else 'missed'}"

    def as_dict(self) -> dict:
        return {"value": round(self.value, 4), "what": self.what, "target": self.target,
                "higher_is_better": self.higher_is_better, "valid": self.valid, "met": self.met}


def parse_ratio(text: str) -> dict | None:
    """The ratio line's fields from a script's output (its last non-empty line), or None if it has none."""
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    m = RATIO_RE.match(lines[-1].strip()) if lines else None
    return {**m.groupdict(), "value": float(m["value"]), "target": float(m["target"])} if m else None


def out_dir() -> Path:
    """Where records and plots go: ``benchmarks/out/`` unless ``RISKFT_BENCH_OUT`` says otherwise (the tests)."""
    path = Path(os.environ.get("RISKFT_BENCH_OUT", OUT_DIR))
    path.mkdir(parents=True, exist_ok=True)
    return path


def record(name: str, mode: str, ctx: dict, figures: dict, ratio: Ratio) -> Path:
    """Append one JSON line (context, figures, ratio) to ``<out_dir>/<name>.jsonl``; returns the file."""
    path = out_dir() / f"{name}.jsonl"
    entry = {"benchmark": name, "mode": mode, **ctx, "loadavg_end": load_average(), "figures": figures,
             "ratio": ratio.as_dict()}
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(entry, default=str) + "\n")
    return path


def finish(name: str, mode: str, ctx: dict, figures: dict, ratio: Ratio) -> None:
    """Record the run, then print the context and the ratio line last (run_all and the tests parse it)."""
    path = record(name, mode, ctx, figures, ratio)
    shown = path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path
    print(f"\nmachine: {ctx['machine']['cpu']}, {ctx['machine']['cores']} cores; commit {ctx['commit']}; "
          f"load average {ctx['loadavg_start']} -> {load_average()}; {mode} mode; recorded in {shown}")
    print(ratio.line(), flush=True)


def mode_of(args) -> str:
    return "smoke" if getattr(args, "smoke", False) else "quick" if getattr(args, "quick", False) else "full"


def add_mode_flags(parser) -> None:
    """Every script: full by default, ``--quick`` (minutes, CI-safe), ``--smoke`` (seconds: the test suite)."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_true", help="a few minutes at most (make bench)")
    group.add_argument("--smoke", action="store_true", help="the tiniest run (the smoke tests use it)")


def add_threads_flag(parser) -> None:
    parser.add_argument("--threads", type=int, help="torch intra-op threads for both paths (default: torch's, one "
                        "per core). On a loaded machine 1 thread is steadier: OpenMP threads stall on each other")


def apply_threads(args) -> int:
    """Set the thread count both paths run with; returns it (recorded with the figures)."""
    import torch

    if getattr(args, "threads", None):
        torch.set_num_threads(args.threads)
    return torch.get_num_threads()


def say(*parts) -> None:
    """Progress to stderr, so stdout stays the table and the ratio line."""
    print(*parts, file=sys.stderr, flush=True)


class Timer:
    """``with Timer() as t: ...`` then ``t.s`` (wall seconds, perf_counter)."""

    def __enter__(self) -> Self:
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.s = time.perf_counter() - self._t0
