"""Mining throughput: the git-CLI miner (``core/risk/mining.py``: streamed ``git log``, SZZ blames in worker
threads) against the PyDriller reference miner (``core/risk/mining_pydriller.py``), both including SZZ, on the same
commits of a real repository, side by side in one run; plus their agreement cell by cell on the first rows.

The repository is never written to: the script mines a temporary bare clone sharing its objects (``git clone -s``,
which PyDriller may write its blame setting into), with ``HEAD`` cut at the N-th commit of the walk.

    python benchmarks/bench_mining.py --repo /path/to/scrapy.git            # whole history, both miners
    python benchmarks/bench_mining.py --repo /path/to/scrapy.git --quick    # first 1,500 commits
    python benchmarks/bench_mining.py --smoke                               # a built 60-commit repository
    python benchmarks/bench_mining.py --repo /path/to/ansible.git --skip-reference   # 50k commits, product defaults

The miner writes git's commit-graph (changed-path Bloom filters) into the clone first, as ``riskft risk mine`` does;
``--no-commit-graph`` times it without (give it a repository without a commit-graph of its own: a clone reads its
source's).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import benchlib
from benchlib import Ratio, Timer, say

NAME = "mining"
TARGET = 2.0  # the git-CLI miner at least 2x the reference's commits/s (the absolute target: >= 100/s)
COMMITS = {"smoke": 60, "quick": 1500, "full": None}
AGREEMENT_ROWS = 400
BUDGET_S, BUDGET_COMMITS = 15 * 60, 50_000  # the second target: a 50k-commit history mined in 15 minutes


def cut_clone(repo: Path, commits: int | None, into: Path) -> tuple[Path, int]:
    """A bare clone sharing ``repo``'s objects with HEAD at the ``commits``-th commit of the walk (None: all)."""
    clone = into / "repo.git"
    subprocess.run(["git", "clone", "-q", "--bare", "-s", str(repo), str(clone)], check=True, capture_output=True)
    order = subprocess.run(["git", "-C", str(clone), "rev-list", "--topo-order", "--reverse", "HEAD"], check=True,
                           capture_output=True, text=True).stdout.split()
    n = len(order) if commits is None else min(commits, len(order))
    subprocess.run(["git", "-C", str(clone), "update-ref", "refs/heads/bench-cut", order[n - 1]], check=True)
    subprocess.run(["git", "-C", str(clone), "symbolic-ref", "HEAD", "refs/heads/bench-cut"], check=True)
    return clone, n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo", type=Path, help="a git repository (bare or not); default: a built one (smoke)")
    parser.add_argument("--commits", type=int, help="mine the first N commits of the walk (default by mode)")
    parser.add_argument("--workers", type=int, help="blame threads of the git-CLI miner (default: CPU count)")
    parser.add_argument("--skip-reference", action="store_true",
                        help="time the git-CLI miner only, with the product's defaults (SZZ leaves out giant commits, "
                             "tests and docs)")
    parser.add_argument("--no-commit-graph", action="store_true",
                        help="do not write git's commit-graph with changed-path Bloom filters first (slower blames)")
    benchlib.add_mode_flags(parser)
    args = parser.parse_args()
    mode = benchlib.mode_of(args)
    sys.path.insert(0, str(benchlib.REPO_ROOT))
    from riskft_pipeline.core.risk.mining import mine
    from riskft_pipeline.core.risk.mining_pydriller import explain_differences, mine_repository_pydriller

    ctx = benchlib.context()
    with tempfile.TemporaryDirectory() as tmp:
        source = args.repo
        if source is None:
            from riskft_pipeline_tests.core.risk.gitrepo_factory import build_synthetic_repo

            source = build_synthetic_repo(Path(tmp) / "built", n_commits=COMMITS["smoke"]).path
        clone, n = cut_clone(source, args.commits or COMMITS[mode], Path(tmp))
        say(f"mining {n:,} commits of {source}")
        # against the reference, SZZ blames giant commits, tests and docs as PyDriller does (so the labels can agree)
        skip_giant = args.skip_reference
        with Timer() as t_new:
            new = mine(clone, workers=args.workers, szz_skip_giant=skip_giant, szz_source_only=skip_giant,
                       commit_graph=not args.no_commit_graph)
        say(f"git-CLI miner: {t_new.s:.1f} s (commit-graph {new.stats.commit_graph}, {new.stats.commit_graph_s:.1f} s)")
        rows = [["git-CLI (mining.py)", n, len(new.changes), int(new.changes["bug"].sum()), t_new.s, n / t_new.s,
                 benchlib.peak_rss_mib()]]
        figures = {"repo": str(source), "commits": n, "szz_skip_giant": skip_giant, "szz_source_only": skip_giant, "new": {"seconds": round(t_new.s, 2),
                                                              "commits_per_s": round(n / t_new.s, 1),
                                                              "stats": new.stats.as_dict()}}
        ratio_value, valid = 0.0, False
        if not args.skip_reference:
            with Timer() as t_old:
                old = mine_repository_pydriller(clone, progress=False)
            say(f"PyDriller reference: {t_old.s:.1f} s")
            rows.append(["PyDriller (reference)", n, len(old), int(old["bug"].sum()), t_old.s, n / t_old.s, "-"])
            head = old.iloc[:AGREEMENT_ROWS]
            agree = explain_differences(head, new.changes[new.changes["_id"].isin(set(head["_id"]))], clone)
            full = explain_differences(old, new.changes, clone)
            figures["reference"] = {"seconds": round(t_old.s, 2), "commits_per_s": round(n / t_old.s, 1)}
            figures["agreement_first_rows"] = {k: (len(v) if isinstance(v, list) else v) for k, v in agree.items()}
            figures["agreement_all_rows"] = {k: (len(v) if isinstance(v, list) else v) for k, v in full.items()}
            figures["unexplained_examples"] = full["unexplained"][:5]
            ratio_value, valid = t_old.s / t_new.s, full["unexplained"] == [] and full["ids_equal"]
    print(benchlib.table(["miner", "commits", "rows", "bug-inducing", "seconds", "commits/s", "peak RSS MiB"], rows))
    if "agreement_all_rows" in figures:
        a = figures["agreement_all_rows"]
        print(f"\nagreement: {a['cells_equal']:,}/{a['cells_compared']:,} cells equal over {a['rows']:,} rows; "
              f"{a['lt_pure_rename']} lt differences from unchanged renames (PyDriller counts 0), "
              f"{a['unexplained']} unexplained; first {AGREEMENT_ROWS} rows: "
              f"{figures['agreement_first_rows']['cells_equal']:,}/{figures['agreement_first_rows']['cells_compared']:,}")
    if args.skip_reference:  # no reference: the pace for a big history, 50k commits in 15 minutes
        pace = BUDGET_COMMITS / BUDGET_S
        ratio = Ratio(n / t_new.s / pace, f"commits/s incl. SZZ over the pace of 50k commits in 15 min "
                      f"({pace:.1f}/s; {t_new.s / 60:.1f} min for {n:,})", 1.0)
    else:
        ratio = Ratio(ratio_value, "commits/s incl. SZZ, git-CLI miner vs PyDriller reference", TARGET, valid=valid)
    benchlib.finish(NAME, mode, ctx, figures, ratio)


if __name__ == "__main__":
    main()
