"""A seeded, realistic change history in the k-feature format: the embedded default, so the risk chain runs with
nothing outside the repository.

It simulates a repository rather than sampling columns independently: developers with skewed activity commit to
files in subsystems and directories; every metric is computed from that simulated history the way the Kamei et al.
definitions say (``exp`` counts the author's prior changes, ``ndev``/``nuc``/``age`` come from the touched files' past,
``entrophy`` from how the added lines spread over files), so the metrics correlate as in real projects.

The label ``bug`` (~20% of changes) depends on the metrics (size and diffusion up, experience and file age down, fix
changes up) plus noise, and on what only the text says: the commit message's kind (``hotfix``, ``revert``, ``WIP``
raise risk; docs, typos and test-only changes lower it) and whether the diff touches tests. So a model that reads the
``message`` and ``diff_summary`` columns can beat one that reads the metrics alone, as on real data.

``python -m riskft_pipeline.core.risk.generate --rows 3000 --seed 7 --out data/changes.csv``
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from riskft_pipeline.core.files import atomic_write
from riskft_pipeline.core.risk.features import FEATURES

SUBSYSTEMS = ("scheduler", "network", "storage", "compute", "identity", "api", "dashboard", "telemetry")
COMPONENTS = ("cache", "driver", "client", "config", "manager", "quota", "retry", "auth", "router", "worker",
              "policy", "volume", "migration", "scheduler", "db", "rpc", "metrics", "validator")
# message kind -> (share of changes, effect on the log-odds of bug, templates)
KINDS: dict[str, tuple[float, float, tuple[str, ...]]] = {
    "feature": (0.30, 0.2, ("Add {c} support to {s}", "Implement {c} limits in {s}", "Support {c} for {s} v2")),
    "fix": (0.22, 0.3, ("Fix {c} race in {s}", "Fix wrong {c} handling in {s}", "Fix {c} leak in {s}")),
    "hotfix": (0.05, 1.8, ("Hotfix: {s} {c} crash in production", "Quick fix for {s} {c} outage")),
    "revert": (0.03, 2.0, ('Revert "Add {c} support to {s}"', 'Revert "Refactor {s} {c}"')),
    "wip": (0.04, 1.6, ("WIP: rework {s} {c}", "Temporary workaround for {s} {c}")),
    "refactor": (0.14, -0.1, ("Refactor {s} {c}", "Clean up {c} code in {s}", "Simplify {s} {c} logic")),
    "tests": (0.10, -1.5, ("Add unit tests for {s} {c}", "Improve test coverage of {s} {c}")),
    "docs": (0.12, -2.0, ("Update docs for {s} {c}", "Fix typo in {s} {c} docstring", "Document {s} {c} options")),
}
START = 1_609_459_200  # 2021-01-01T00:00:00Z
DAY = 86_400.0
BUG_RATE = 0.2


@dataclass
class FileState:
    subsystem: str
    directory: str
    path: str
    lines: int
    changes: int = 0
    devs: set[int] = field(default_factory=set)
    last_change: float | None = None


@dataclass
class AuthorState:
    times: list[float] = field(default_factory=list)
    by_subsystem: dict[str, int] = field(default_factory=dict)


def _make_files(rng: np.random.Generator) -> list[FileState]:
    files = []
    for s in SUBSYSTEMS:
        for d in range(int(rng.integers(3, 7))):
            directory = f"{s}/{['core', 'api', 'utils', 'drivers', 'db', 'tests', 'common'][d]}"
            for f in range(int(rng.integers(4, 12))):
                name = f"{COMPONENTS[int(rng.integers(len(COMPONENTS)))]}_{f}.py"
                files.append(FileState(s, directory, f"{directory}/{name}", int(rng.lognormal(5.5, 1.0)) + 10))
    return files


def _entropy(lines: np.ndarray) -> float:
    """Kamei's entropy: how evenly the modified lines spread over the files (bits)."""
    total = lines.sum()
    if total <= 0 or len(lines) < 2:
        return 0.0
    p = lines[lines > 0] / total
    return float(-(p * np.log2(p)).sum())


def _pick_files(rng: np.random.Generator, files: list[FileState], home: str, kind: str) -> list[FileState]:
    nf = int(rng.geometric(0.45)) + (int(rng.geometric(0.25)) if kind == "feature" else 0)
    pool = [f for f in files if f.subsystem == home]
    if kind == "tests":
        pool = [f for f in pool if "/tests/" in f.path] or pool
    chosen = list(rng.choice(len(pool), size=min(nf, len(pool)), replace=False))
    picked = [pool[i] for i in chosen]
    if nf > 2 and rng.random() < 0.35:  # cross-subsystem change
        picked.append(files[int(rng.integers(len(files)))])
    return list({id(f): f for f in picked}.values())


def _diff_summary(touched: list[FileState], added: np.ndarray, deleted: np.ndarray) -> str:
    parts = [f"{f.path} +{a}-{d}" for f, a, d in zip(touched[:3], added[:3], deleted[:3])]
    if len(touched) > 3:
        parts.append(f"and {len(touched) - 3} more")
    return "; ".join(parts)


def _change(rng, files, authors, author_weights, t, n_authors) -> dict:
    author = int(rng.choice(n_authors, p=author_weights))
    state = authors.setdefault(author, AuthorState())
    kinds = list(KINDS)
    kind = kinds[int(rng.choice(len(kinds), p=[KINDS[k][0] for k in kinds]))]
    home = SUBSYSTEMS[(author + (int(rng.integers(len(SUBSYSTEMS))) if rng.random() < 0.3 else 0)) % len(SUBSYSTEMS)]
    touched = _pick_files(rng, files, home, kind)
    scale = {"docs": 0.4, "tests": 1.2, "feature": 1.6, "revert": 1.3}.get(kind, 1.0)
    added = np.maximum(0, rng.lognormal(2.3 + math.log(scale), 1.2, len(touched)).astype(int))
    deleted = np.maximum(0, (added * rng.uniform(0.0, 0.9, len(touched))).astype(int))
    if kind == "revert":
        added, deleted = deleted, added
    ages = [(t - f.last_change) / DAY for f in touched if f.last_change is not None]
    devs = set().union(*(f.devs for f in touched))
    row = {
        "ns": len({f.subsystem for f in touched}), "nd": len({f.directory for f in touched}), "nf": len(touched),
        "entrophy": round(_entropy(added + deleted), 6), "la": int(added.sum()), "ld": int(deleted.sum()),
        "lt": int(sum(f.lines for f in touched)), "fix": int(kind in ("fix", "hotfix")),
        "ndev": len(devs), "age": round(float(np.mean(ages)) if ages else 0.0, 6),
        "nuc": int(sum(f.changes for f in touched)), "exp": len(state.times),
        "rexp": round(sum(1.0 / (1.0 + (t - s) / (365 * DAY)) for s in state.times), 6),
        "sexp": state.by_subsystem.get(home, 0),
    }
    comp = COMPONENTS[int(rng.integers(len(COMPONENTS)))]
    templates = KINDS[kind][2]
    row["message"] = templates[int(rng.integers(len(templates)))].format(s=home, c=comp)
    row["diff_summary"] = _diff_summary(touched, added, deleted)
    row["_kind"] = kind
    row["_tests"] = any("/tests/" in f.path for f in touched)
    for f, a, d in zip(touched, added, deleted):
        f.lines = max(1, f.lines + int(a) - int(d))
        f.changes += 1
        f.devs.add(author)
        f.last_change = t
    state.times.append(t)
    state.by_subsystem[home] = state.by_subsystem.get(home, 0) + 1
    return row


def _log_odds(df: pd.DataFrame) -> np.ndarray:
    """How the metrics and the text raise or lower the chance that a change induces a bug (before noise)."""
    lg = {c: np.log1p(df[c].to_numpy(dtype=float)) for c in FEATURES}
    metric = (0.55 * lg["la"] + 0.15 * lg["ld"] + 0.35 * lg["nf"] + 0.25 * lg["ndev"] - 0.30 * lg["exp"]
              - 0.20 * lg["age"] + 0.15 * lg["entrophy"] + 0.30 * df["fix"].to_numpy())
    text = df["_kind"].map({k: v[1] for k, v in KINDS.items()}).to_numpy() - 0.8 * df["_tests"].to_numpy()
    return metric + text


def generate_changes(rows: int = 3000, seed: int = 7) -> pd.DataFrame:
    """``rows`` changes in date order with the k-feature columns plus ``message`` and ``diff_summary``."""
    rng = np.random.default_rng(seed)
    files = _make_files(rng)
    n_authors = 40
    weights = 1.0 / np.arange(1, n_authors + 1) ** 1.1
    weights /= weights.sum()
    authors: dict[int, AuthorState] = {}
    t = float(START)
    records = []
    for _ in range(rows):
        t += float(rng.exponential(0.25 * DAY))
        records.append({"_id": rng.bytes(20).hex(), "date": int(t), **_change(rng, files, authors, weights, t,
                                                                              n_authors)})
    df = pd.DataFrame.from_records(records)
    logit = _log_odds(df) + rng.logistic(0.0, 1.0, len(df))
    threshold = np.quantile(logit, 1.0 - BUG_RATE)
    df["bug"] = (logit > threshold).astype(int)
    return df[["_id", "date", "bug", *FEATURES, "message", "diff_summary"]]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate a realistic change history (k-feature CSV).")
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    df = generate_changes(args.rows, args.seed)
    with atomic_write(args.out) as f:
        df.to_csv(f, index=False, lineterminator="\n")
    print(f"wrote {len(df)} changes ({df['bug'].mean():.1%} bug-inducing) to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
