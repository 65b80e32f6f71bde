"""The git-CLI miner at real scale, on repositories built with ``git``: bare and normal, merges, renames, binary
files, submodule entries (one whose commit is absent, the pallets/flask crash), non-UTF-8 messages, giant commits,
progress, and agreement with the PyDriller reference miner."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pandas as pd
import pytest

from riskft_pipeline.core.risk.gitlog import iter_log, write_commit_graph
from riskft_pipeline.core.risk.mining import CHANGE_COLUMNS, MiningProgress, mine
from riskft_pipeline.core.risk.mining_pydriller import explain_differences, mine_repository_pydriller
from riskft_pipeline.core.risk.szz import cosmetic_line, ranges, szz_path
from riskft_pipeline_tests.core.risk.gitrepo_factory import DAY, T0, GitRepo, build_synthetic_repo, init_repo

MISSING_1 = "1" * 40
MISSING_2 = "2" * 40
BODY = [f"value_{i} = {i}" for i in range(30)]


def _commit_raw(repo: GitRepo, message: bytes, *, day: float, author: str = "alice",
                extra: tuple[str, ...] = ()) -> str:
    """Commit what is staged with a message given as bytes (any encoding)."""
    msg = repo.path / ".git" / "MSG"
    msg.write_bytes(message)
    repo.git(*extra, "commit", "-q", "-F", str(msg), author=author, when=T0 + int(day * DAY))
    return repo.git("rev-parse", "HEAD")


def _commit_object(repo: GitRepo, message: bytes, *, day: float, author: str = "alice") -> str:
    """Commit what is staged by writing the commit object by hand: ``git commit`` would re-encode a message that is
    not UTF-8 as if it were Latin-1, as old histories (made by older git) were not."""
    when = T0 + int(day * DAY)
    ident = f"{author} <{author}@example.com> {when} +0000".encode()
    body = (b"tree " + repo.git("write-tree").encode() + b"\nparent " + repo.git("rev-parse", "HEAD").encode()
            + b"\nauthor " + ident + b"\ncommitter " + ident + b"\n\n" + message + b"\n")
    done = subprocess.run(["git", "hash-object", "-t", "commit", "-w", "--stdin"], cwd=repo.path, input=body,
                          capture_output=True, check=True)
    sha = done.stdout.decode().strip()
    repo.git("update-ref", "HEAD", sha)
    return sha


def _set_submodule(repo: GitRepo, sha: str) -> None:
    repo.git("update-index", "--add", "--cacheinfo", f"160000,{sha},vendor/lib")


def build_edge_repo(path: Path) -> GitRepo:
    """e1 add module + binary; e2 binary changed; e3 submodule entry (absent commit); e4 submodule moved to another
    absent commit and the module edited; e5 rename with an edit; e6 Latin-1 message (declared); e7 invalid UTF-8
    (undeclared); e8 giant reformat of 120 files; f1 on a branch, merged; fix: rewrites e1's line 3 -> blames e1."""
    repo = init_repo(path)
    repo.commit("e1", "Add module", {"pkg/mod.py": BODY, "img/logo.bin": []}, author="alice", day=0)
    (repo.path / "img/logo.bin").write_bytes(b"\x89PNG\0\0\x01binary")
    repo.commit("e2", "New logo", {}, author="bob", day=1)
    _set_submodule(repo, MISSING_1)
    repo.hashes["e3"] = _commit_raw(repo, b"Add vendored lib as submodule", day=2)
    _set_submodule(repo, MISSING_2)
    repo.write("pkg/mod.py", BODY + ["extra = 1"])
    repo.git("add", "pkg/mod.py")
    repo.hashes["e4"] = _commit_raw(repo, b"Bump lib", day=3, author="bob")
    repo.git("mv", "pkg/mod.py", "pkg/core.py")
    repo.write("pkg/core.py", BODY + ["extra = 2"])
    repo.git("add", "pkg/core.py")
    repo.hashes["e5"] = _commit_raw(repo, b"Move module", day=4)
    repo.write("docs/a.txt", ["caf\u00e9"])
    repo.git("add", "docs/a.txt")
    repo.hashes["e6"] = _commit_raw(repo, "Caf\u00e9 notes".encode("latin-1"), day=5,
                                    extra=("-c", "i18n.commitEncoding=ISO-8859-1"))
    repo.write("docs/b.txt", ["b"])
    repo.git("add", "docs/b.txt")
    repo.hashes["e7"] = _commit_object(repo, b"Broken \xff\xfe bytes", day=6)
    repo.commit("e8", "Reformat everything", {f"gen/m{i:03d}.py": [f"x = {i}"] for i in range(120)},
                author="carol", day=7)
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit("f1", "Feature docs", {"docs/feature.txt": ["feature"]}, author="bob", day=8)
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-ff", "-m", "Merge feature", "feature", when=T0 + 9 * DAY)
    fixed = BODY[:3] + ["value_2 = 'fixed'"] + BODY[4:] + ["extra = 2"]
    repo.commit("fix", "Fix value 2", {"pkg/core.py": fixed}, author="bob", day=10)
    return repo


@pytest.fixture(scope="module")
def edge(tmp_path_factory):
    root = tmp_path_factory.mktemp("edge")
    repo = build_edge_repo(root / "repo")
    bare = root / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo.path), str(bare)], check=True, capture_output=True)
    return repo, bare, mine(repo.path)


def test_edge_cases_are_counted_not_crashed_on(edge):
    repo, _, result = edge
    s = result.stats
    assert (s.commits_walked, s.merges_skipped, s.rows, s.root_commits) == (11, 1, 10, 1)
    assert s.binary_files == 1  # e2 (e1 adds an empty file: text)
    assert s.submodule_changes == 3 and s.renames == 1  # added (e3), moved (e4), dropped by e8's `add -A`
    assert s.non_utf8_messages == 1  # e7; e6 declares its encoding and git re-encodes it
    assert s.giant_commits == 1 and s.missing_blobs == 0  # submodule ids are never read as blobs
    df = result.changes.set_index("_id")
    h = repo.hashes
    assert df.loc[h["e6"], "message"] == "Caf\u00e9 notes"
    assert df.loc[h["e7"], "message"] == "Broken \ufffd\ufffd bytes"
    assert df.loc[h["e2"], ["la", "ld", "lt"]].tolist() == [0, 0, 0]  # binary: no lines
    assert df.loc[h["e3"], "diff_summary"] == "A vendor/lib +1 -0"
    assert df.loc[h["e4"], "lt"] == 30  # the module's lines; the submodule counts none
    assert df.loc[h["e5"], "diff_summary"] == "R pkg/mod.py -> pkg/core.py +1 -1"
    assert df.loc[h["e8"], "giant"] == 1 and df["giant"].sum() == 1
    assert df.index[df["bug"] == 1].tolist() == [h["e1"]]


def test_bare_and_normal_repositories_mine_the_same(edge):
    _, bare, result = edge
    pd.testing.assert_frame_equal(mine(bare).changes, result.changes)


def test_pydriller_reference_crashes_on_absent_submodule_commit(edge):
    repo, _, _ = edge
    with pytest.raises(ValueError, match="could not be resolved"):
        mine_repository_pydriller(repo.path, progress=False)


def test_old_and_new_miners_agree_on_a_built_history(tmp_path):
    repo = build_synthetic_repo(tmp_path / "s", n_commits=120, seed=4)
    repo.git("mv", "core/m0/f0.py", "core/m0/moved.py")
    repo.git("commit", "-q", "-m", "Fix: move f0 unchanged", when=T0 + 100 * DAY)  # a pure rename
    old = mine_repository_pydriller(repo.path, progress=False)
    new = mine(repo.path, szz_skip_giant=False, szz_source_only=False).changes
    report = explain_differences(old, new, repo.path)
    assert report["ids_equal"] and report["unexplained"] == []
    # the one difference: PyDriller reads no "before" content for a file renamed unchanged (lt 0)
    assert [d["column"] for d in report["lt_pure_rename"]] == ["lt"]
    moved = report["lt_pure_rename"][0]
    assert moved["reference"] == 0 and moved["mined"] > 0
    keep = [c for c in CHANGE_COLUMNS if c != "lt"]
    pd.testing.assert_frame_equal(old[keep], new[keep])


def test_lines_looking_like_patch_headers_are_counted_by_both(tmp_path):
    """Content lines starting with ``++``/``--`` (a C ``++i``, an SQL ``-- comment``) are lines like any other."""
    repo = init_repo(tmp_path / "r")
    repo.commit("a", "Code", {"a.c": ["int i;", "-- old note"]}, author="alice", day=0)
    repo.commit("b", "Loop", {"a.c": ["int i;", "++i;", "++i;"]}, author="bob", day=1)
    old = mine_repository_pydriller(repo.path, progress=False)
    new = mine(repo.path).changes
    assert new[["la", "ld"]].to_numpy().tolist() == [[2, 0], [2, 1]]
    report = explain_differences(old, new, repo.path)
    assert report["cells_equal"] == report["cells_compared"] and report["unexplained"] == []


def test_giant_commits_are_kept_out_of_szz(tmp_path):
    repo = init_repo(tmp_path / "r")
    body = [f"v{i} = {i}" for i in range(5)]
    repo.commit("a", "Add", {"m.py": body}, author="alice", day=0)
    reformatted = [f"v{i} =  {i}" for i in range(5)]  # whitespace only: blame -w sees through it anyway
    files = {f"gen/g{i}.py": ["x"] for i in range(100)}
    repo.commit("giant", "Reformat", {"m.py": [ln.replace("v3", "w3") for ln in reformatted], **files},
                author="carol", day=1)
    repo.commit("fix", "Fix w3", {"m.py": [ln.replace("w3 =  3", "w3 = 4") for ln in reformatted]},
                author="bob", day=2)
    skip = mine(repo.path).changes.set_index("_id")["bug"]
    keep = mine(repo.path, szz_skip_giant=False).changes.set_index("_id")["bug"]
    assert keep[repo.hashes["giant"]] == 1 and keep[repo.hashes["a"]] == 0
    # blame looks through the giant reformat to the commit that wrote the line before it
    assert skip[repo.hashes["giant"]] == 0 and skip[repo.hashes["a"]] == 1


def test_progress_reports_commits_per_second(tmp_path):
    repo = build_synthetic_repo(tmp_path / "s", n_commits=30, seed=1)
    seen: list[MiningProgress] = []
    result = mine(repo.path, progress=seen.append, workers=2)
    assert seen and seen[-1].done and seen[-1].commits == seen[-1].total == 30
    assert seen[-1].commits_per_s > 0 and result.stats.workers == 2
    assert result.stats.commits_per_s > 0


def test_one_worker_and_two_give_the_same_labels(tmp_path):
    repo = build_synthetic_repo(tmp_path / "s", n_commits=80, seed=2)
    one = mine(repo.path, workers=1).changes
    two = mine(repo.path, workers=2).changes
    pd.testing.assert_frame_equal(one, two)
    assert one["bug"].sum() > 0


def test_log_stream_reads_every_commit_once(tmp_path):
    repo = build_synthetic_repo(tmp_path / "s", n_commits=25, seed=3)
    hashes = [c.hash for c in iter_log(repo.path)]
    assert len(hashes) == len(set(hashes)) == 25
    assert hashes == repo.git("rev-list", "--topo-order", "--reverse", "HEAD").split()


def test_szz_helpers():
    assert ranges([7, 1, 2, 3, 3]) == [(1, 3), (7, 7)]
    assert cosmetic_line("   # comment") and cosmetic_line("") and cosmetic_line(" * doc")
    assert not cosmetic_line("x = 1  # trailing comment")


def test_commit_graph_gives_the_same_rows_and_labels(tmp_path):
    repo = build_synthetic_repo(tmp_path / "s", n_commits=80, seed=2)
    graph = repo.path / ".git" / "objects" / "info" / "commit-graph"
    plain = mine(repo.path, commit_graph=False)
    assert plain.stats.commit_graph == "off" and not graph.exists()  # the repository is left as it was
    fast = mine(repo.path)
    assert fast.stats.commit_graph == "written" and graph.is_file()
    assert b"BDAT" in graph.read_bytes()  # the changed-path Bloom filter chunk blame uses
    pd.testing.assert_frame_equal(plain.changes, fast.changes)
    assert fast.changes["bug"].sum() > 0


def test_a_commit_graph_that_cannot_be_written_is_reported_not_raised(tmp_path):
    repo = build_synthetic_repo(tmp_path / "s", n_commits=20, seed=5)
    lock = repo.path / ".git" / "objects" / "info" / "commit-graph.lock"  # another git process is writing it
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.touch()
    result = mine(repo.path)
    assert result.stats.commit_graph.startswith("failed: fatal: Unable to create")
    pd.testing.assert_frame_equal(result.changes, mine(repo.path, commit_graph=False).changes)
    assert write_commit_graph(init_repo(tmp_path / "empty").path).status.startswith("not written")


def test_szz_blames_source_files_not_the_fix_s_tests_and_docs(tmp_path):
    repo = init_repo(tmp_path / "r")
    repo.commit("src", "Add parser", {"pkg/parse.py": [f"p{i} = {i}" for i in range(5)]}, author="alice", day=0)
    repo.commit("tst", "Add tests", {"tests/test_parse.py": [f"assert p{i} == {i}" for i in range(5)]},
                author="bob", day=1)
    repo.commit("doc", "Add docs", {"docs/parse.rst": [f"p{i} is {i}" for i in range(5)]}, author="carol", day=2)
    repo.commit("fix", "Fix p2", {"pkg/parse.py": [f"p{i} = {i}" if i != 2 else "p2 = 20" for i in range(5)],
                                  "tests/test_parse.py": [f"assert p{i} == {i * (10 if i == 2 else 1)}"
                                                          for i in range(5)],
                                  "docs/parse.rst": [f"p{i} is {i * (10 if i == 2 else 1)}" for i in range(5)]},
                author="dave", day=3)
    source_only = mine(repo.path)
    bug = source_only.changes.set_index("_id")["bug"]
    assert bug[repo.hashes["src"]] == 1 and bug[repo.hashes["tst"]] == 0 and bug[repo.hashes["doc"]] == 0
    assert source_only.stats.szz_files_not_source == 2 and source_only.stats.szz_files_blamed == 1
    every = mine(repo.path, szz_source_only=False).changes.set_index("_id")["bug"]
    assert [every[repo.hashes[k]] for k in ("src", "tst", "doc")] == [1, 1, 1]


@pytest.mark.parametrize(("path", "blamed"), [
    ("pkg/parse.py", True), ("src/main/java/Foo.java", True), ("lib/contest.py", True), ("latest/x.c", True),
    ("Makefile", True), ("setup.cfg", True), ("tests/test_x.py", False), ("pkg/test/helpers.py", False),
    ("test_x.py", False), ("x_test.go", False), ("web/x.test.js", False), ("src/FooTest.java", False),
    ("docs/conf.py", False), ("README.md", False), ("CHANGELOG", False), ("changelogs/fragments/1.yml", False),
    ("notes.txt", False), ("LICENSE", False), ("HISTORY.rst", False),
])
def test_szz_path_tells_source_from_tests_and_docs(path, blamed):
    assert szz_path(path) is blamed
