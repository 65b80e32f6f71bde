"""Build small git repositories with the ``git`` CLI, with known bug-introducing and bug-fixing commits.

Everything is pinned (author, committer, dates, branch name, no user or system git config) so hashes and metrics are
the same on every machine. :func:`build_sample_repo` is the story the mining tests check by hand:

====  =====  ======  ==========================================  ==========================================
name  day    author  message                                     what it does
====  =====  ======  ==========================================  ==========================================
c1    0      alice   Initial calc module                         A src/a/calc.py (5 lines), A docs/guide.md (3)
c2    1      bob     Add range helper                            calc.py +2 (line 7 ``return n`` is WRONG),
                                                                 A src/b/util.py (4)
c3    2      alice   Document prefix usage                       guide.md +2 ("prefix" is not "fix")
c4    3      bob     Refactor clamp                              util.py line 4 rewritten (+1 -1), calc.py +1
c5    5      alice   Fix off-by-one in calc                      calc.py line 7 corrected -> blames c2
c6    6      bob     Handle upper bound (INC0001234)             util.py line 4 rewritten -> blames c4, but only
                                                                 a fix when incident ids are recognised
c7    7      alice   Add FAQ page  (on branch ``feature``)       A docs/faq.md (2)
merge 8      alice   Merge branch 'feature'                      --no-ff merge, skipped by mining
c8    9      bob     Fix typo in header comment                  calc.py line 1 (a comment) -> blames nothing
====  =====  ======  ==========================================  ==========================================
"""

from __future__ import annotations

import os
import random
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

T0 = 1_700_000_000
DAY = 86_400
AUTHORS = {"alice": "alice@example.com", "bob": "bob@example.com"}

CALC_V1 = ["# calc helpers", "def add(a, b):", "    return a + b", "def sub(a, b):", "    return a - b"]
CALC_V2 = CALC_V1 + ["def last_index(n):", "    return n"]
CALC_V4 = CALC_V2 + ["LIMIT = 10"]
CALC_V5 = CALC_V4[:6] + ["    return n - 1"] + CALC_V4[7:]
CALC_V8 = ["# calculator helpers"] + CALC_V5[1:]
UTIL_V2 = ["def clamp(x, lo, hi):", "    if x < lo:", "        return lo", "    return min(x, hi)"]
UTIL_V4 = UTIL_V2[:3] + ["    return x if x < hi else hi"]
UTIL_V6 = UTIL_V2[:3] + ["    return hi if x > hi else x"]
GUIDE_V1 = ["# Guide", "Use add.", "Use sub."]
GUIDE_V3 = GUIDE_V1 + ["Use last_index.", "Done."]
FAQ = ["# FAQ", "Ask alice."]


@dataclass
class GitRepo:
    """A repository under construction: ``commit`` writes files and commits them as one author at one time."""

    path: Path
    hashes: dict[str, str] = field(default_factory=dict)

    def git(self, *args: str, author: str = "alice", when: int = T0) -> str:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": author,
            "GIT_AUTHOR_EMAIL": AUTHORS.get(author, f"{author}@example.com"),
            "GIT_COMMITTER_NAME": author,
            "GIT_COMMITTER_EMAIL": AUTHORS.get(author, f"{author}@example.com"),
            "GIT_AUTHOR_DATE": f"{when} +0000",
            "GIT_COMMITTER_DATE": f"{when} +0000",
        }
        done = subprocess.run(["git", "-c", "commit.gpgsign=false", *args], cwd=self.path, env=env,
                              capture_output=True, text=True, check=True)
        return done.stdout.strip()

    def write(self, relpath: str, lines: list[str]) -> None:
        target = self.path / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("".join(line + "\n" for line in lines), encoding="utf-8")

    def commit(self, name: str, message: str, files: dict[str, list[str] | None], *, author: str,
               day: float) -> str:
        """Write (or, for ``None``, delete) the files, then commit everything; returns the new hash."""
        for relpath, lines in files.items():
            if lines is None:
                (self.path / relpath).unlink()
            else:
                self.write(relpath, lines)
        when = T0 + int(day * DAY)
        self.git("add", "-A", author=author, when=when)
        self.git("commit", "-q", "-m", message, author=author, when=when)
        self.hashes[name] = self.git("rev-parse", "HEAD")
        return self.hashes[name]


def init_repo(path: Path) -> GitRepo:
    path.mkdir(parents=True, exist_ok=True)
    repo = GitRepo(path)
    repo.git("init", "-q", "-b", "main")
    return repo


def build_sample_repo(path: Path) -> GitRepo:
    """The repository of the module docstring; ``hashes`` maps c1..c8 and ``merge`` to full commit hashes."""
    repo = init_repo(path)
    repo.commit("c1", "Initial calc module", {"src/a/calc.py": CALC_V1, "docs/guide.md": GUIDE_V1},
                author="alice", day=0)
    repo.commit("c2", "Add range helper", {"src/a/calc.py": CALC_V2, "src/b/util.py": UTIL_V2}, author="bob", day=1)
    repo.commit("c3", "Document prefix usage", {"docs/guide.md": GUIDE_V3}, author="alice", day=2)
    repo.commit("c4", "Refactor clamp\n\nSigned-off-by: bob <bob@example.com>",
                {"src/b/util.py": UTIL_V4, "src/a/calc.py": CALC_V4}, author="bob", day=3)
    repo.commit("c5", "Fix off-by-one in calc", {"src/a/calc.py": CALC_V5}, author="alice", day=5)
    repo.commit("c6", "Handle upper bound (INC0001234)", {"src/b/util.py": UTIL_V6}, author="bob", day=6)
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit("c7", "Add FAQ page", {"docs/faq.md": FAQ}, author="alice", day=7)
    repo.git("checkout", "-q", "main")
    merge_time = T0 + 8 * DAY
    repo.git("merge", "-q", "--no-ff", "-m", "Merge branch 'feature'", "feature", author="alice", when=merge_time)
    repo.hashes["merge"] = repo.git("rev-parse", "HEAD")
    repo.commit("c8", "Fix typo in header comment", {"src/a/calc.py": CALC_V8}, author="bob", day=9)
    return repo


def build_synthetic_repo(path: Path, n_commits: int = 300, *, seed: int = 0, n_files: int = 40) -> GitRepo:
    """A seeded random history (for speed measurements): 3 authors, 4 subsystems, files grown and edited, about one
    commit in six a "fix"."""
    rng = random.Random(seed)
    repo = init_repo(path)
    files: dict[str, list[str]] = {}
    names = [f"{sub}/m{i % 5}/f{i}.py" for i, sub in zip(range(n_files), ["core", "api", "ui", "docs"] * n_files)]
    for k in range(n_commits):
        touched = rng.sample(names, rng.choice([1, 1, 1, 2, 3, 5]))
        for name in touched:
            lines = files.setdefault(name, [])
            for _ in range(rng.randint(0, 4)):
                if lines:
                    lines.pop(rng.randrange(len(lines)))
            for _ in range(rng.randint(1, 12)):
                lines.insert(rng.randint(0, len(lines)), f"value_{k}_{rng.randrange(10**6)} = {rng.random():.6f}")
        kind = "Fix crash in" if rng.random() < 1 / 6 else "Update"
        repo.commit(f"s{k}", f"{kind} {touched[0]}", {n: files[n] for n in touched},
                    author=rng.choice(["alice", "bob", "carol"]), day=k * 0.5)
    return repo
