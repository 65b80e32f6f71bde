"""Mining a git repository into the Kamei change metrics with SZZ labels, checked against a repository whose story
is known (see :mod:`gitrepo_factory`) and whose metrics were computed by hand."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pandas as pd
import pytest

from riskft_pipeline.core.errors import InputError
from riskft_pipeline.core.risk.features import clean_changes, read_changes_csv
from riskft_pipeline.core.risk.mining import (
    CHANGE_COLUMNS,
    DEFAULT_FIX_PATTERNS,
    EXTRA_COLUMNS,
    _FileChange,
    diff_summary,
    entropy,
    fix_regex,
    mine_repository,
    short_message,
    write_changes_csv,
)
from riskft_pipeline_tests.core.risk.gitrepo_factory import DAY, T0, build_sample_repo, init_repo

INC = r"INC\d{7}"
YEAR = 365.25 * DAY


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """The sample repository, mined without and with incident ids; rows indexed by the commit's story name."""
    repo = build_sample_repo(tmp_path_factory.mktemp("sample") / "repo")
    names = {h: n for n, h in repo.hashes.items()}
    plain = mine_repository(repo.path, progress=False)
    with_ids = mine_repository(repo.path, incident_id_pattern=INC, progress=False)
    return repo, plain.set_index(plain["_id"].map(names)), with_ids.set_index(with_ids["_id"].map(names)), plain


def test_one_row_per_non_merge_commit_in_date_order(sample):
    _, plain, _, raw = sample
    assert list(raw.columns) == [*CHANGE_COLUMNS, *EXTRA_COLUMNS]
    assert list(plain.index) == ["c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8"]  # c7 (branch) kept, merge skipped
    assert raw["date"].is_monotonic_increasing
    assert plain.loc["c5", "date"] == T0 + 5 * DAY
    stats = raw.attrs["mining"]
    assert {k: stats[k] for k in ("commits_walked", "merges_skipped", "empty_skipped", "fixes", "rows",
                                  "bug_inducing", "blamed_outside_rows", "root_commits", "giant_commits")} == {
        "commits_walked": 9, "merges_skipped": 1, "empty_skipped": 0, "fixes": 2, "rows": 8, "bug_inducing": 1,
        "blamed_outside_rows": 0, "root_commits": 1, "giant_commits": 0}
    assert stats["szz_cosmetic_lines_skipped"] == 1  # c8's comment line
    assert stats["labels"]["bug_rate_by_year"] == {"2023": {"changes": 8, "bug_inducing": 1, "bug_rate": 0.125}}


def test_szz_labels_exactly_the_bug_introducing_commits(sample):
    _, plain, with_ids, _ = sample
    # c5 "Fix off-by-one" rewrites the line c2 wrote; c8 only touches a comment (ignored by SZZ).
    assert plain.index[plain["bug"] == 1].tolist() == ["c2"]
    # Recognising INC0001234 makes c6 a fix too, and c6 rewrites the line c4 wrote.
    assert with_ids.index[with_ids["bug"] == 1].tolist() == ["c2", "c4"]


def test_fix_flag_from_words_and_incident_ids(sample):
    _, plain, with_ids, _ = sample
    assert plain.index[plain["fix"] == 1].tolist() == ["c5", "c8"]  # "Document prefix usage" is not a fix
    assert with_ids.index[with_ids["fix"] == 1].tolist() == ["c5", "c6", "c8"]


# Hand-computed from the story in gitrepo_factory (days since T0; alice: c1 c3 c5 c7, bob: c2 c4 c6 c8).
EXPECTED = {
    #      ns nd nf  la ld  lt ndev  age nuc exp sexp
    "c1": (2, 2, 2, 8, 0, 0, 0, 0.0, 0, 0, 0),
    "c2": (1, 2, 2, 6, 0, 5, 1, 1.0, 1, 0, 0),
    "c3": (1, 1, 1, 2, 0, 3, 1, 2.0, 1, 1, 1),
    "c4": (1, 2, 2, 2, 1, 11, 2, 2.0, 2, 1, 1),
    "c5": (1, 1, 1, 1, 1, 8, 2, 2.0, 3, 2, 1),
    "c6": (1, 1, 1, 1, 1, 4, 1, 3.0, 2, 2, 2),
    "c7": (1, 1, 1, 2, 0, 0, 0, 0.0, 0, 3, 2),
    "c8": (1, 1, 1, 1, 1, 8, 2, 4.0, 4, 3, 3),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_metrics_match_hand_computation(sample, name):
    _, plain, _, _ = sample
    cols = ["ns", "nd", "nf", "la", "ld", "lt", "ndev", "age", "nuc", "exp", "sexp"]
    assert tuple(plain.loc[name, cols]) == pytest.approx(EXPECTED[name])


def test_entropy_and_recent_experience(sample):
    _, plain, _, _ = sample
    h = lambda *p: -sum(x * math.log2(x) for x in p)
    assert plain.loc["c1", "entrophy"] == pytest.approx(h(5 / 8, 3 / 8))  # calc +5, guide +3
    assert plain.loc["c4", "entrophy"] == pytest.approx(h(2 / 3, 1 / 3))  # util +1-1, calc +1
    assert plain.loc["c5", "entrophy"] == 0.0
    # c5 by alice on day 5: her earlier changes on days 0 and 2.
    assert plain.loc["c5", "rexp"] == pytest.approx(1 / (5 * DAY / YEAR + 1) + 1 / (3 * DAY / YEAR + 1))
    assert plain.loc["c2", "rexp"] == 0.0


def test_message_and_diff_summary(sample):
    _, plain, _, _ = sample
    assert plain.loc["c4", "message"] == "Refactor clamp"  # Signed-off-by trailer dropped
    assert plain.loc["c6", "message"] == "Handle upper bound (INC0001234)"
    assert plain.loc["c1", "diff_summary"] == "A src/a/calc.py +5 -0; A docs/guide.md +3 -0"
    assert plain.loc["c4", "diff_summary"] == "M src/b/util.py +1 -1; M src/a/calc.py +1 -0"


def test_since_limits_rows_but_keeps_history(sample):
    repo, plain, _, _ = sample
    since = datetime.fromtimestamp(T0 + 5 * DAY, tz=UTC).replace(tzinfo=None)  # naive = UTC
    late = mine_repository(repo.path, since=since, progress=False)
    names = {h: n for n, h in repo.hashes.items()}
    late = late.set_index(late["_id"].map(names))
    assert list(late.index) == ["c5", "c6", "c7", "c8"]
    pd.testing.assert_frame_equal(late.drop(columns="bug"), plain.loc[late.index].drop(columns="bug"))
    assert late["bug"].sum() == 0  # c2, the commit c5 blames, is before `since`
    assert late.attrs["mining"]["blamed_outside_rows"] == 1


def test_csv_round_trips_through_the_change_reader(sample, tmp_path):
    _, _, _, raw = sample
    path = tmp_path / "out" / "changes.csv"
    assert write_changes_csv(raw, path) == len(raw)
    assert [p.name for p in path.parent.iterdir()] == ["changes.csv"]  # no temp file left behind
    result = clean_changes(read_changes_csv(path), now=T0 + 30 * DAY)
    assert result.summary["quarantined_rows"] == 0
    back = result.clean
    assert list(back["_id"]) == list(raw["_id"])
    for col in CHANGE_COLUMNS[1:]:
        if col in ("message", "diff_summary"):
            assert list(back[col]) == list(raw[col])
        else:
            assert back[col].to_numpy(dtype=float) == pytest.approx(raw[col].to_numpy(dtype=float)), col


def test_csv_escapes_spreadsheet_formulas(tmp_path, sample):
    _, _, _, raw = sample
    df = raw.head(3).copy()
    df["message"] = ["=HYPERLINK(\"x\")", "-1 regression", "  @SUM(A1)"]  # a formula after blanks runs too
    write_changes_csv(df, tmp_path / "c.csv")
    back = pd.read_csv(tmp_path / "c.csv", dtype=str)
    assert list(back["message"]) == ["'=HYPERLINK(\"x\")", "'-1 regression", "'  @SUM(A1)"]
    with pytest.raises(ValueError, match="lacks column"):
        write_changes_csv(df.drop(columns="la"), tmp_path / "d.csv")


def test_renamed_file_keeps_its_history(tmp_path):
    repo = init_repo(tmp_path / "r")
    body = [f"line {i}" for i in range(10)]
    repo.commit("a", "Add module", {"pkg/old.py": body}, author="alice", day=0)
    repo.commit("b", "Move module", {"pkg/old.py": None, "pkg/new.py": body + ["extra"]}, author="bob", day=2)
    repo.commit("c", "Edit module", {"pkg/new.py": body}, author="bob", day=3)
    df = mine_repository(repo.path, progress=False).set_index("_id")
    moved, edited = df.loc[repo.hashes["b"]], df.loc[repo.hashes["c"]]
    assert (moved["nf"], moved["la"], moved["ld"], moved["lt"]) == (1, 1, 0, 10)
    assert moved["diff_summary"] == "R pkg/old.py -> pkg/new.py +1 -0"
    assert (moved["nuc"], moved["ndev"], moved["age"]) == (1, 1, 2.0)
    assert (edited["nuc"], edited["ndev"], edited["lt"]) == (2, 2, 11)


def test_empty_repository_and_not_a_repository(tmp_path):
    repo = init_repo(tmp_path / "empty")
    df = mine_repository(repo.path, progress=False)
    assert df.empty and list(df.columns) == [*CHANGE_COLUMNS, *EXTRA_COLUMNS]
    with pytest.raises(InputError, match="not a git repository"):
        mine_repository(tmp_path / "nowhere", progress=False)


@pytest.mark.parametrize(("message", "expected"), [
    ("Fix crash on login", True), ("fixes #12", True), ("Bugfix for parser", True), ("HOTFIX: db", True),
    ("Add prefix option", False), ("Improve debugging output", False), ("Patched the pool", True),
    ("Refactor", False),
])
def test_fix_words_are_whole_words(message, expected):
    assert bool(fix_regex(DEFAULT_FIX_PATTERNS).search(message)) is expected


def test_incident_ids_and_no_patterns():
    assert fix_regex((), INC).search("Handle INC0001234 timeout")
    assert not fix_regex((), INC).search("Handle INC12 timeout")
    assert not fix_regex((), None).search("fix")


def test_entropy_and_text_helpers():
    assert entropy([4, 4]) == pytest.approx(1.0)
    assert entropy([1, 1, 1, 1]) == pytest.approx(2.0)  # plain, not normalised
    assert entropy([0, 0]) == 0.0 and entropy([7]) == 0.0
    assert short_message("Subject\n\nBody  text\nChange-Id: I123\n", limit=200) == "Subject Body text"
    long = short_message("word " * 100, limit=50)
    assert len(long) == 50 and long.endswith("…")
    files = [_FileChange(f"dir/file{i:02d}.py", None, "MODIFY", i, 0) for i in range(1, 30)]
    text = diff_summary(files, limit=80)
    assert len(text) <= 80 and text.startswith("M dir/file29.py +29 -0; M dir/file28.py +28 -0")
    assert text.endswith("more files") and f"+{29 - text.count('M dir/')} more files" in text
