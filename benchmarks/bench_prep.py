"""Data preparation at scale: the project's vectorised ticket chain (read → clean + redact + quarantine → grouped
split → chat examples → files) against a row-by-row reference (one dict per row, Python regexes per row: how a
notebook does it), on the same generated export.

The reference is written here, following the same rules as ``riskft_pipeline.core.tickets`` (same quarantine
reasons in the same order, same text tidying, same redactor applied row by row, same grouped hash split), and its
JSONL output is compared line by line with the project's on the subsample it runs on, so the two paths are shown to
compute the same thing. It is too slow to run on a million rows: it runs on a subsample and its time is scaled
linearly (every step of it is O(rows)).

Each measurement runs in a fresh subprocess, so its peak memory (``ru_maxrss``) is its own.

    python benchmarks/bench_prep.py            # 10k → 1M scaling curve, PNG in benchmarks/out/
    python benchmarks/bench_prep.py --quick    # 20k rows
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import re
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from datetime import datetime
from pathlib import Path

import benchlib
from benchlib import Ratio, Timer, say

NAME = "prep"
SEED = 7
SIZES = {"smoke": [2_000], "quick": [20_000], "full": [10_000, 30_000, 100_000, 300_000, 1_000_000]}
REFERENCE_ROWS = {"smoke": 1_000, "quick": 5_000, "full": 20_000}
TARGET_RATIO = 20.0
TARGET_1M_S = 120.0


# --- inputs --------------------------------------------------------------------------------------------------------


def export_csv(rows: int, cache: Path) -> Path:
    """The generated export of ``rows`` tickets (seeded), written once and reused across runs."""
    path = cache / f"tickets_{rows}_seed{SEED}.csv"
    if not path.is_file():
        from riskft_pipeline.core.tickets.generate import generate_tickets, write_tickets_csv

        say(f"generating {rows:,} tickets -> {path}")
        tmp = path.with_suffix(".tmp")
        write_tickets_csv(generate_tickets(rows, SEED), tmp)
        tmp.replace(path)
    return path


def head_csv(src: Path, rows: int, dst: Path) -> Path:
    """The first ``rows`` records of ``src`` (records, not lines: cells hold newlines)."""
    csv.field_size_limit(sys.maxsize)
    with src.open(newline="", encoding="utf-8") as fin, dst.open("w", newline="", encoding="utf-8") as fout:
        reader, writer = csv.reader(fin), csv.writer(fout, lineterminator="\n")
        for n, record in enumerate(reader):
            if n > rows:
                break
            writer.writerow(record)
    return dst


# --- the project's path (a worker subprocess) ------------------------------------------------------------------------


def run_project(csv_path: Path, out_dir: Path) -> dict:
    """The same steps as ``riskft tickets prepare``, each timed."""
    from riskft_pipeline.core.files import sha256_file
    from riskft_pipeline.core.tickets import prepare as prep
    from riskft_pipeline.core.tickets.split import assign_splits

    stages: dict[str, float] = {}
    t0 = time.perf_counter()
    with Timer() as t:
        read = prep.load_raw(csv_path)
    stages["read"] = t.s
    with Timer() as t:
        result = prep.clean(read)
    stages["clean+redact"] = t.s
    with Timer() as t:
        splits = assign_splits(result.clean)
    stages["split"] = t.s
    with Timer() as t:
        examples = prep.build_examples(result.clean, splits)
    stages["examples"] = t.s
    with Timer() as t:
        summary = prep.write_prepared(out_dir, result, examples, sha256_file(csv_path))
    stages["write"] = t.s
    return {"rows": summary["raw_rows"], "clean_rows": summary["clean_rows"], "splits": summary["splits"],
            "stages_s": stages, "total_s": time.perf_counter() - t0, "peak_rss_mib": benchlib.peak_rss_mib()}


# --- the row-by-row reference (a worker subprocess) ------------------------------------------------------------------

_LABELS = {"type": "type", "category": "category", "subcategory": "subcategory",
           "assignment_group": "assignment_group", "software/system": "software_system",
           "issue/request": "issue_request"}
_UPPER = {"category", "subcategory", "assignment_group"}
_CAPITAL = {"type", "contact_type"}
_BLANKS = " \t\f\v\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000"
_ODD_BLANKS = re.compile(f" [{_BLANKS}]+|[{_BLANKS[1:]}][{_BLANKS}]*")
_DATE_FORMATS = ("%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d")


def ref_tidy(value: str) -> str:
    if not value.isascii():
        value = unicodedata.normalize("NFKC", value)
    value = _ODD_BLANKS.sub(" ", re.sub("\r\n?", "\n", value))
    value = re.sub(" ?\n[ \n]*\n", "\n\n", value)
    return re.sub(" ?\n ?", "\n", value).strip()


def ref_label(value: str, field: str) -> str | None:
    value = " ".join(value.split()) or None
    if value is None:
        return None
    return value.upper() if field in _UPPER else value.capitalize() if field in _CAPITAL else value


def ref_date_ok(value: str) -> bool:
    """An empty date is fine; otherwise it must parse (one of the export formats, else ISO 8601) into 1990–2099."""
    value = value.strip()
    if not value:
        return True
    for fmt in _DATE_FORMATS:
        try:
            return 1990 <= datetime.strptime(value, fmt).year < 2100
        except ValueError:
            continue
    try:
        return 1990 <= datetime.fromisoformat(value).year < 2100
    except ValueError:
        return False


def ref_key(text: str) -> str:
    """Lower-case letters only, single-spaced (the near-duplicate key)."""
    return " ".join("".join(ch if ch.isalpha() or ch == " " else " " for ch in text.lower()).split())


def ref_first_problem(row: dict, max_chars: int = 20000) -> str | None:
    if row["number"].strip().lower() == "number" and row["short_description"].strip().lower() == "short_description":
        return "repeated header row"
    if any(len(v) > max_chars for k, v in row.items() if not k.startswith("_")):
        return "oversize field"
    if not row["_number"]:
        return "missing ticket number"
    if not row["_text"]:
        return "missing text"
    if row["_type"] is None or row["_category"] is None:
        return "missing label"
    if not ref_date_ok(row["date"]):
        return "unparseable date"
    return None


def ref_clean(rows: list[dict], redactor) -> list[dict]:
    """Per-row normalisation, validation, dedup and redaction; returns the clean rows in file order."""
    for row in rows:
        row["_number"] = _ODD_BLANKS.sub(" ", row["number"]).strip()
        for source, target in _LABELS.items():
            row["_" + target] = ref_label(row.get(source, ""), target)
        subject, body = ref_tidy(row["short_description"]), ref_tidy(row["content"])
        row["_text"] = subject + ("\n" if subject and body else "") + body
        row["_reason"] = ref_first_problem(row)
    seen_rows: set[tuple] = set()
    for row in rows:
        if row["_reason"] is None:
            values = tuple(v for k, v in row.items() if not k.startswith("_"))
            if values in seen_rows:
                row["_reason"] = "duplicate row"
            seen_rows.add(values)
    numbers = Counter(row["_number"] for row in rows if row["_reason"] is None)
    for row in rows:
        if row["_reason"] is None and numbers[row["_number"]] > 1:
            row["_reason"] = "duplicate ticket number"
    seen_texts: set[str] = set()
    clean = []
    for row in rows:
        if row["_reason"] is not None:
            continue
        row["_text"] = redactor.redact(row["_text"])[0]
        for field in ("_software_system", "_issue_request"):
            if row[field] is not None:
                row[field] = redactor.redact(row[field])[0]
        key = row["_text"].lower()
        if key in seen_texts:
            row["_reason"] = "duplicate text"
            continue
        seen_texts.add(key)
        clean.append(row)
    return clean


def ref_split(clean: list[dict], seed: int = 13, val: float = 0.1, test: float = 0.1) -> list[str]:
    """Union-find over the two near-duplicate keys, blake2b of the group's smallest key, rare classes to train."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    keys = []
    for row in clean:
        subject, _, body = row["_text"].partition("\n")
        k_subject, k_body = ref_key(subject), ref_key(body)
        whole = (k_subject + " " + k_body).strip()
        keys.append((whole, k_body or whole))
        a, b = find("w:" + whole), find("b:" + (k_body or whole))
        if a != b:
            parent[max(a, b)] = min(a, b)
    smallest: dict[str, str] = {}
    for whole, _ in keys:
        root = find("w:" + whole)
        smallest[root] = min(smallest.get(root, whole), whole)
    counts = {f: Counter(r["_" + f] for r in clean) for f in ("category", "subcategory")}
    rare_groups = set()
    for row, (whole, _) in zip(clean, keys):
        if any(row["_" + f] is not None and counts[f][row["_" + f]] < 3 for f in counts):
            rare_groups.add(find("w:" + whole))
    out = []
    for whole, _ in keys:
        root = find("w:" + whole)
        digest = hashlib.blake2b(smallest[root].encode(), digest_size=8, key=str(seed).encode()).digest()
        u = int.from_bytes(digest, "big") / 2**64
        split = "test" if u < test else "val" if u < test + val else "train"
        out.append("train" if root in rare_groups else split)
    return out


def run_reference(csv_path: Path, out_dir: Path) -> dict:
    """The whole chain row by row: csv module in, one ``json.dumps`` per example out."""
    from riskft_pipeline.core.files import dumps
    from riskft_pipeline.core.tickets.prompts import FIELDS, build_messages
    from riskft_pipeline.core.tickets.redact import Redactor

    t0 = time.perf_counter()
    csv.field_size_limit(sys.maxsize)
    with csv_path.open(newline="", encoding="utf-8") as f:
        rows = [{k: v for k, v in r.items() if not k.startswith("Unnamed")} for r in csv.DictReader(f)]
    names = {r[c] for r in rows for c in ("customer", "agent") if r.get(c)}
    clean = ref_clean(rows, Redactor(sorted(names)))
    splits = ref_split(clean)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {name: (out_dir / f"{name}.jsonl").open("w", encoding="utf-8") for name in ("train", "val", "test")}
    for row, split in zip(clean, splits):
        answer = {field: row["_" + field] for field in FIELDS}
        files[split].write(dumps({"id": row["_number"], "messages": build_messages(row["_text"], answer)}) + "\n")
    for f in files.values():
        f.close()
    return {"rows": len(rows), "clean_rows": len(clean), "splits": dict(Counter(splits)),
            "total_s": time.perf_counter() - t0, "peak_rss_mib": benchlib.peak_rss_mib()}


def agreement(project_dir: Path, reference_dir: Path) -> float:
    """Share of the reference's JSONL lines found verbatim in the project's file of the same split."""
    same = total = 0
    for name in ("train", "val", "test"):
        project = set((project_dir / f"{name}.jsonl").read_text(encoding="utf-8").splitlines())
        lines = (reference_dir / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
        same += sum(line in project for line in lines)
        total += len(lines)
    return same / max(total, 1)


# --- where the time goes, and what other Arrow-native engines would give --------------------------------------------

_TIDY_PATTERNS = [("\r\n?", "\n"), (_ODD_BLANKS.pattern, " "), (" ?\n[ \n]*\n", "\n\n"), (" ?\n ?", "\n")]


def hot_steps(csv_path: Path) -> dict:
    """Split ``clean`` into its parts, then time its vectorised regex work on several engines.

    Parts: building the redactor from the export's names, the model text (tidy + join + NFKC + redaction: Arrow
    prefilters pick candidate rows, Python's ``re`` rewrites them), and the rest (labels, dates, duplicates).
    Engines, on the same regexes (the prefilter patterns are read from the redactor's detectors): pandas with
    Arrow strings (the project's path), pyarrow.compute directly, and polars / duckdb when installed (not project
    dependencies: this measures what switching would give).
    """
    from riskft_pipeline.core.tickets.clean import clean_tickets, model_texts
    from riskft_pipeline.core.tickets.io import read_ticket_csv
    from riskft_pipeline.core.tickets.redact import Redactor

    df = read_ticket_csv(csv_path).df
    parts: dict[str, float] = {}
    with Timer() as t:
        redactor = Redactor.from_frame(df)
    parts["build redactor (names of the export)"] = t.s
    with Timer() as t:
        texts = model_texts(df, redactor)
    parts["model text: tidy + join + redact"] = t.s
    with Timer() as t:
        clean_tickets(df, redactor=redactor)
    parts["rest of clean (labels, dates, dedup)"] = max(t.s - parts["model text: tidy + join + redact"], 0.0)
    prefilters = sorted({p for d in getattr(redactor, "_detectors", []) for p in d.prefilters})
    return {"rows": len(df), "clean_parts_s": parts,
            "engines_s": {"tidy regexes (4 replace-alls, bodies)": _engines(df["content"], _TIDY_PATTERNS, True),
                          f"redaction prefilters ({len(prefilters)} RE2 matches)":
                              _engines(texts, [(p, None) for p in prefilters], False)}}


def _engines(values, patterns: list[tuple[str, str | None]], replace: bool) -> dict[str, float | str]:
    """Seconds per engine for the regexes (replace-all when ``replace``, else match); 'not installed' if absent."""
    import importlib.util

    import pyarrow as pa
    import pyarrow.compute as pc

    arrow = pa.array(values.to_numpy(dtype=object), type=pa.large_string())
    out: dict[str, float | str] = {}
    series = values.astype("string[pyarrow]")
    with Timer() as t:
        for pattern, repl in patterns:
            series.str.replace(pattern, repl, regex=True) if replace else series.str.contains(pattern, regex=True)
    out["pandas (Arrow strings)"] = t.s
    with Timer() as t:
        for pattern, repl in patterns:
            (pc.replace_substring_regex(arrow, pattern=pattern, replacement=repl) if replace
             else pc.match_substring_regex(arrow, pattern=pattern))
    out["pyarrow.compute"] = t.s
    out["polars"] = _polars(arrow, patterns, replace) if importlib.util.find_spec("polars") else "not installed"
    out["duckdb"] = _duckdb(arrow, patterns, replace) if importlib.util.find_spec("duckdb") else "not installed"
    return out


def _polars(arrow, patterns, replace: bool) -> float:
    import polars as pl

    frame = pl.DataFrame({"c": pl.from_arrow(arrow)})
    exprs = [(pl.col("c").str.replace_all(p, r) if replace else pl.col("c").str.contains(p)).alias(f"e{i}")
             for i, (p, r) in enumerate(patterns)]
    with Timer() as t:
        frame.select(exprs)  # polars runs the expressions in parallel on every core
    return t.s


def _duckdb(arrow, patterns, replace: bool) -> float:
    import duckdb
    import pyarrow as pa

    def quote(x: str) -> str:
        return "'" + x.replace("'", "''") + "'"

    con = duckdb.connect()
    con.register("tbl", pa.table({"c": arrow}))
    exprs = [f"regexp_replace(c, {quote(p)}, {quote(r)}, 'g')" if replace else f"regexp_matches(c, {quote(p)})"
             for p, r in patterns]
    with Timer() as t:
        con.sql(f"SELECT {', '.join(exprs)} FROM tbl").to_arrow_table()
    return t.s


# --- driver ----------------------------------------------------------------------------------------------------------


def worker(kind: str, csv_path: Path, out_dir: Path) -> dict:
    """Run one measurement in a fresh interpreter (its own peak memory); returns its JSON result."""
    cmd = [sys.executable, __file__, "--worker", kind, "--csv", str(csv_path), "--out", str(out_dir)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} worker failed on {csv_path}:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def scaling_png(points: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [p["rows"] for p in points]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.loglog(rows, [p["project_s"] for p in points], "o-", label="project (vectorised)")
    ax.loglog(rows, [p["reference_s_scaled"] for p in points], "s--", label="row-by-row reference (scaled)")
    ax.axhline(TARGET_1M_S, color="grey", lw=0.8, ls=":", label=f"{TARGET_1M_S:.0f} s budget for 1M")
    ax.set_xlabel("ticket rows")
    ax.set_ylabel("wall seconds (read → JSONL)")
    ax.set_title("Ticket data preparation, 2-core CPU")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    benchlib.add_mode_flags(parser)
    parser.add_argument("--rows", type=int, nargs="*", help="sizes to measure (overrides the mode's)")
    parser.add_argument("--reference-rows", type=int, help="subsample the row-by-row reference runs on")
    parser.add_argument("--worker", choices=["project", "reference", "hot"], help=argparse.SUPPRESS)
    parser.add_argument("--csv", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        fn = {"project": run_project, "reference": run_reference,
              "hot": lambda c, _o: hot_steps(c)}[args.worker]
        print(json.dumps(fn(args.csv, args.out)))
        return 0

    mode = benchlib.mode_of(args)
    ctx = benchlib.context()
    sizes = args.rows or SIZES[mode]
    figures = measure(sizes, min(args.reference_rows or REFERENCE_ROWS[mode], min(sizes)), mode == "full")
    report(figures)
    biggest = figures["points"][-1]
    ratio = Ratio(biggest["reference_s_scaled"] / biggest["project_s"],
                  f"rows/s vs row-by-row at {biggest['rows']:,} rows", TARGET_RATIO)
    benchlib.finish(NAME, mode, ctx, figures, ratio)
    return 0


def measure(sizes: list[int], ref_rows: int, with_hot_steps: bool) -> dict:
    """Reference on a subsample (+ agreement with the project there), then the project at every size."""
    cache = benchlib.OUT_DIR / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-prep-") as tmp_name:
        tmp = Path(tmp_name)
        largest = export_csv(max(sizes), cache)
        sub_csv = head_csv(largest, ref_rows, tmp / "subsample.csv")
        say(f"reference: row by row on {ref_rows:,} rows")
        ref = worker("reference", sub_csv, tmp / "ref")
        worker("project", sub_csv, tmp / "sub_project")  # the same subsample through the project, for agreement
        agree = agreement(tmp / "sub_project", tmp / "ref")
        ref_per_row = ref["total_s"] / ref["rows"]
        points = []
        for rows in sizes:
            say(f"project: {rows:,} rows")
            res = worker("project", export_csv(rows, cache), tmp / f"project_{rows}")
            res.update(reference_s_scaled=ref_per_row * res["rows"], project_s=res["total_s"])
            points.append(res)
        hot = worker("hot", export_csv(max(sizes), cache), tmp) if with_hot_steps else None
    return {"reference": ref, "agreement": agree, "points": points, "hot_steps": hot}


def report(figures: dict) -> None:
    """The side-by-side table per size, the breakdown of clean and the engines (full mode), the curve."""
    ref, agree, points, hot = (figures[k] for k in ("reference", "agreement", "points", "hot_steps"))
    print(f"Ticket data preparation (read → clean + redact → split → chat JSONL), generated export, seed {SEED}")
    print(f"row-by-row reference measured on {ref['rows']:,} rows ({ref['total_s']:.1f} s, "
          f"{ref['rows'] / ref['total_s']:,.0f} rows/s, peak {ref['peak_rss_mib']:.0f} MiB), scaled linearly; "
          f"its JSONL agrees with the project's on {agree:.1%} of lines\n")
    headers = ["rows", "project s", "reference s (scaled)", "speed-up", "project rows/s", "peak RSS MiB",
               *[f"{k} s" for k in points[0]["stages_s"]]]
    print(benchlib.table(headers, [
        [f"{p['rows']:,}", p["project_s"], p["reference_s_scaled"], p["reference_s_scaled"] / p["project_s"],
         p["rows"] / p["project_s"], p["peak_rss_mib"], *p["stages_s"].values()] for p in points]))
    if hot:
        print(f"\nInside clean+redact, {hot['rows']:,} rows (separate run):")
        print(benchlib.table(["part", "seconds"], list(hot["clean_parts_s"].items())))
        for step, by_engine in hot["engines_s"].items():
            print(f"\nSame regexes on other engines: {step}")
            print(benchlib.table(["engine", "seconds"], list(by_engine.items())))
    if len(points) > 1:
        png = benchlib.out_dir() / "prep_scaling.png"
        scaling_png(points, png)
        print(f"\nscaling curve: {png}")
    biggest = points[-1]
    if biggest["rows"] >= 1_000_000:
        verdict = "met" if biggest["project_s"] < TARGET_1M_S else "missed"
        print(f"1M rows in {biggest['project_s']:.1f} s (target < {TARGET_1M_S:.0f} s): {verdict}")


if __name__ == "__main__":
    benchlib.offline_env()
    sys.exit(main())
