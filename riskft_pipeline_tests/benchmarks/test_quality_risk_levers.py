"""The risk lever study runs on the embedded history and measures every lever against logreg on the same split."""

from __future__ import annotations

import quality_risk_levers as levers  # on sys.path via this folder's conftest

from riskft_pipeline.paths import embedded_data_dir


def test_changed_files_reads_both_diff_summary_formats():
    mined = "M docs/api.rst +20 -0; A flask.py +16 -1; R old.py -> new/x.py +1 -1; … +9 more files"
    assert levers.changed_files(mined) == ["docs/api.rst", "flask.py", "new/x.py"]
    assert levers.changed_files("identity/api/router_6.py +8-3") == ["identity/api/router_6.py"]
    assert levers.changed_files(None) == []


def test_every_lever_is_measured_against_logreg_on_the_same_split():
    rows = levers.study(embedded_data_dir() / "changes.csv", seed=0)
    by = {r["lever"]: r for r in rows}
    assert set(by) == {"logreg", "decay", "knn", "text", "files"}  # the embedded history carries commit text
    assert by["logreg"]["minus_logreg"]["diff"] == 0.0
    for r in rows:
        assert 0.5 < r["test_auc"] < 1.0 and 0.5 < r["val_auc"] < 1.0
        m = r["minus_logreg"]
        assert abs(m["diff"] - (r["test_auc"] - by["logreg"]["test_auc"])) < 1e-3
        assert m["lo"] <= m["diff"] <= m["hi"]
