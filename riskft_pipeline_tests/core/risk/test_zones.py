"""Risk zones: cut on validation scores, nested, and measured on labelled changes."""

import numpy as np
import pytest

from riskft_pipeline.core.risk.zones import (
    REST,
    fit_zones,
    percentiles,
    shift_of_counts,
    zone_capture,
    zone_of,
    zone_shift,
)


def test_zone_cuts_hold_the_intended_share_of_validation_changes():
    val = np.arange(1000, dtype=float)
    zones = fit_zones(val)
    names = zone_of(val, zones)
    assert [z["name"] for z in zones["zones"]] == ["top5", "top10", "top20"]
    counts = {n: names.count(n) for n in set(names)}
    # nested zones named by the smallest: 5% top5, 5% more top10, 10% more top20, the rest
    assert counts == {"top5": 50, "top10": 50, "top20": 100, REST: 800}


def test_zones_are_ordered_by_score():
    zones = fit_zones(np.linspace(0, 1, 201))
    assert zone_of([0.99, 0.92, 0.85, 0.1], zones) == ["top5", "top10", "top20", REST]


def test_cuts_come_from_validation_only():
    """The same validation scores give the same cuts whatever the test scores are."""
    rng = np.random.default_rng(0)
    val = rng.normal(size=500)
    z1 = fit_zones(val)
    test = rng.normal(loc=3.0, size=300)  # a shifted test period: most of it lands in the top zones
    assert z1 == fit_zones(val)
    assert zone_of(test, z1).count(REST) < 100


def test_percentiles_match_ranks_and_count_ties_half():
    zones = fit_zones(np.arange(101, dtype=float))
    assert percentiles([50.0, 0.0, 100.0, -5.0, 500.0], zones).round(1).tolist() == [50.0, 0.0, 100.0, 0.0, 100.0]
    tied = fit_zones([0.0] * 80 + list(np.linspace(0.1, 1.0, 20)))
    assert 35 < percentiles([0.0], tied)[0] < 45  # 80% share the value: mid-rank, not 80


def test_capture_counts_bugs_caught_per_zone():
    zones = fit_zones(np.arange(100, dtype=float))  # top5 from 94.05, top10 from 89.1, top20 from 79.2
    scores = np.array([99, 95, 90, 85, 10, 5, 1, 0], dtype=float)
    y = np.array([1, 0, 1, 1, 1, 0, 0, 0])
    cap = zone_capture(y, scores, zones)
    assert cap["top5"] == {"flagged": 2, "flagged_share": 0.25, "bugs_caught": 1, "recall": 0.25, "precision": 0.5}
    assert cap["top10"]["bugs_caught"] == 2 and cap["top20"]["bugs_caught"] == 3
    assert cap["top20"]["recall"] == 0.75


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        fit_zones([1.0])
    with pytest.raises(ValueError):
        fit_zones([1.0, 2.0], shares=(0.0, 0.5))


def _batch(top5: int, top10: int, top20: int, rest: int) -> list[str]:
    return ["top5"] * top5 + ["top10"] * top10 + ["top20"] * top20 + ["rest"] * rest


def test_zone_shift_counts_nested_zones_and_flags_only_what_chance_cannot_explain():
    as_planned = {s["zone"]: s for s in zone_shift(_batch(5, 5, 10, 80))}
    assert [as_planned[z]["observed"] for z in ("top5", "top10", "top20")] == [0.05, 0.10, 0.20], "zones nest"
    assert as_planned["top10"]["changes"] == 10
    assert not any(s["shifted"] for s in as_planned.values())

    # mined scrapy's test period scored by the validation period's cut points: 13% / 18% / 29% of 1,852 changes
    drifted = {s["zone"]: s for s in zone_shift(_batch(246, 97, 192, 1317))}
    assert all(drifted[z]["shifted"] for z in ("top5", "top10", "top20"))
    assert drifted["top5"]["observed"] == round(246 / 1852, 4)

    # 7 of 100 in top5 is within chance of 5%; the same share of 2,000 is not
    assert not zone_shift(_batch(7, 3, 10, 80))[0]["shifted"]
    assert zone_shift(_batch(140, 60, 200, 1600))[0]["shifted"]


def test_zone_shift_needs_enough_changes_and_sees_both_directions():
    assert not any(s["shifted"] for s in zone_shift(_batch(10, 0, 0, 0))), "10 changes: chance alone"
    assert all(s["shifted"] for s in zone_shift(_batch(20, 0, 0, 0))[:1])
    none_flagged = {s["zone"]: s for s in zone_shift(_batch(0, 0, 0, 400))}
    assert none_flagged["top20"]["shifted"] and none_flagged["top20"]["observed"] == 0.0
    assert zone_shift([]) and not any(s["shifted"] for s in zone_shift([]))


def test_zone_shift_from_counts_is_the_same_verdict_as_from_names():
    names = _batch(246, 97, 192, 1317)
    assert zone_shift(names) == shift_of_counts({"top5": 246, "top10": 343, "top20": 535}, len(names))
