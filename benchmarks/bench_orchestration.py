"""Orchestration overhead: the three ticket data assets (raw_tickets → clean_tickets → ticket_splits) materialised
in-process through Dagster, against the core's ``prepare()`` called directly on the same file, in the same process.

Both paths run alternately, after one untimed warm-up each (imports, caches), ``--repeats`` times; the table shows
median and spread. Dagster runs against three instances: the default SQLite storage that ``make run`` uses (one
event-log database per run, a commit per event), a consolidated SQLite event log, and in-memory storage, which
separates the cost of the event storage from the rest (the asset bodies parse the CSV twice and pass the clean
table through parquet, which ``prepare()`` does not).

    python benchmarks/bench_orchestration.py            # embedded data + 20k + 100k generated rows, 5 repeats
    python benchmarks/bench_orchestration.py --quick    # embedded data + 20k rows, 3 repeats
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from pathlib import Path

import benchlib
from benchlib import Ratio, Timer, say

NAME = "orchestration"
TARGET = 1.2
SIZES = {"smoke": [0], "quick": [0, 20_000], "full": [0, 20_000, 100_000]}  # 0 = the embedded data/tickets.csv
REPEATS = {"smoke": 1, "quick": 3, "full": 5}
DEFAULT = "default SQLite, as make run"


def input_csv(rows: int, cache: Path) -> Path:
    if rows == 0:
        from riskft_pipeline import paths

        return paths.embedded_data_dir() / "tickets.csv"
    from bench_prep import export_csv

    return export_csv(rows, cache)


def run_core(csv_path: Path, out_dir: Path) -> float:
    from riskft_pipeline.core.tickets.prepare import prepare

    with Timer() as t:
        prepare(csv_path, out_dir)
    return t.s


def run_dagster(instance, csv_path: Path) -> float:
    """Wall seconds of ``dg.materialize`` of the three data assets (no asset checks, like the core path)."""
    import dagster as dg

    from riskft_pipeline.defs import tickets

    config = {"ops": {"raw_tickets": {"config": {"input_path": str(csv_path)}}}}
    with Timer() as t:
        result = dg.materialize([tickets.raw_tickets, tickets.clean_tickets, tickets.ticket_splits],
                                instance=instance, run_config=config)
    if not result.success:
        raise RuntimeError("the Dagster materialisation failed")
    return t.s


@contextlib.contextmanager
def instances(tmp: Path):
    """The instance ``make run`` uses (SQLite, one event-log database per run), and two cheaper storages for
    comparison: one consolidated SQLite event log, and in-memory (nothing persisted: not for production)."""
    import dagster as dg

    consolidated = {"event_log_storage": {"module": "dagster._core.storage.event_log",
                                          "class": "ConsolidatedSqliteEventLogStorage",
                                          "config": {"base_dir": str(tmp / "consolidated")}}}
    with dg.instance_for_test() as default, dg.instance_for_test(overrides=consolidated) as cons:
        yield {DEFAULT: default, "consolidated SQLite event log": cons,
               "in-memory (ephemeral)": dg.DagsterInstance.ephemeral()}


def measure(rows: int, repeats: int, insts: dict, cache: Path, tmp: Path) -> dict:
    """Core and every instance alternately, after one untimed warm-up each."""
    csv_path = input_csv(rows, cache)
    run_core(csv_path, tmp / "warm-core")
    for inst in insts.values():
        run_dagster(inst, csv_path)
    times: dict[str, list[float]] = {"core": [], **{name: [] for name in insts}}
    for k in range(repeats):
        times["core"].append(run_core(csv_path, tmp / f"core-{rows}-{k}"))
        for name, inst in insts.items():
            times[name].append(run_dagster(inst, csv_path))
        say(f"  {csv_path.name} repeat {k + 1}/{repeats}: " + ", ".join(f"{n} {v[-1]:.2f} s" for n, v in times.items()))
    ratios = {name: [d / c for d, c in zip(times[name], times["core"])] for name in insts}
    return {"input": csv_path.name, "seconds": times, "ratios": ratios}


def spread(values: list[float]) -> str:
    med, lo, hi = benchlib.median_spread(values)
    return f"{med:.2f} [{lo:.2f}-{hi:.2f}]"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    benchlib.add_mode_flags(parser)
    parser.add_argument("--repeats", type=int, help="repeats per size (default: 3 quick, 5 full)")
    args = parser.parse_args(argv)
    mode = benchlib.mode_of(args)
    repeats = args.repeats or REPEATS[mode]
    ctx = benchlib.context()
    cache = benchlib.OUT_DIR / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-orch-") as tmp_name:
        tmp = Path(tmp_name)
        os.environ["RISKFT_HOME"] = str(tmp / "home")  # assets write under RISKFT_HOME/data/<asset>/<run id>
        with instances(tmp) as insts:
            results = [measure(rows, repeats, insts, cache, tmp) for rows in SIZES[mode]]

    print(f"Ticket data assets through Dagster in-process vs core prepare() on the same file, {repeats} repeats, "
          "seconds median [min-max]\n")
    rows_out = []
    for r in results:
        rows_out.append([r["input"], "core prepare()", spread(r["seconds"]["core"]), "1.00"])
        for name in r["ratios"]:
            rows_out.append(["", f"dagster, {name}", spread(r["seconds"][name]), spread(r["ratios"][name])])
    print(benchlib.table(["input", "path", "seconds", "x core"], rows_out))
    print(f"\n{DEFAULT}, by input size (the fixed cost per run weighs less as the data grows):")
    for r in results:
        med = benchlib.median_spread(r["ratios"][DEFAULT])[0]
        core_s = benchlib.median_spread(r["seconds"]["core"])[0]
        extra = benchlib.median_spread(r["seconds"][DEFAULT])[0] - core_s
        print(f"  {r['input']}: {med:.2f}x (+{extra:.2f} s over {core_s:.2f} s) "
              f"{'meets' if med <= TARGET else 'misses'} <= {TARGET:g}x")
    headline = results[0]
    median = benchlib.median_spread(headline["ratios"][DEFAULT])[0]
    ratio = Ratio(median, f"wall time, Dagster ({DEFAULT}) / core on {headline['input']}, median", TARGET,
                  higher_is_better=False)
    benchlib.finish(NAME, mode, ctx, {"repeats": repeats, "results": results}, ratio)
    return 0


if __name__ == "__main__":
    benchlib.offline_env()
    sys.exit(main())
