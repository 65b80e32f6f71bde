"""The markdown summary of a batch of enriched changes: counts per zone and tier, the riskiest N in score order with
percentile, zone, tier and a truncated justification, the quarantine, and cells that cannot break the table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from riskft_pipeline.core.risk.summary import batch_summary_markdown, summary_path

HASH = "0123456789abcdef0123456789abcdef01234567"


def enriched(n: int = 6) -> pd.DataFrame:
    scores = [0.10, 0.95, 0.40, 0.80, 0.97, 0.55][:n]
    return pd.DataFrame({
        "_id": [HASH if i == 1 else f"CHG{i:04d}" for i in range(n)],
        "message": ["Fix clamp", "Vendor import\n\nBody of the message", "Docs", "Refactor", "Risky | pipe", "Tidy"][:n],
        "risk_score": scores,
        "risk_percentile": [12.0, 96.5, 48.0, 85.0, 99.1, 60.2][:n],
        "risk_zone": ["rest", "top5", "rest", "top20", "top5", "rest"][:n],
        "risk_tier": ["low", "high", "low", "high", "high", "medium"][:n],
        "justification": ["small change", "touches 40 files " * 20, "docs only", "large churn", "<b>bold</b> claim",
                          "medium churn"][:n],
        "model_uri": ["models:/change-risk/3"] * n,
    })


def _section(text: str, heading: str) -> list[str]:
    lines = text.splitlines()
    start = lines.index(heading) + 2
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    return lines[start:end]


def test_counts_per_zone_and_tier_with_totals():
    text = batch_summary_markdown(enriched(), quarantined=2, quarantine_reasons={"negative_metric": 2})
    assert "**6** changes enriched, **2** quarantined (negative_metric: 2)." in text
    assert "Model: `models:/change-risk/3`" in text
    table = _section(text, "## Zones and tiers")
    assert table[0] == "| zone | high | medium | low | total | share |"
    rows = {line.split(" | ")[0].strip("| *"): line for line in table[2:]}
    assert list(rows) == ["top5", "top10", "top20", "rest", "total"], "riskiest zone first, empty zones shown"
    assert rows["top5"] == "| top5 | 2 | 0 | 0 | 2 | 33% |"
    assert rows["top10"] == "| top10 | 0 | 0 | 0 | 0 | 0% |"
    assert rows["top20"] == "| top20 | 1 | 0 | 0 | 1 | 17% |"
    assert rows["rest"] == "| rest | 0 | 1 | 2 | 3 | 50% |"
    assert rows["total"] == "| **total** | 3 | 1 | 2 | 6 | 100% |"


def test_top_n_in_score_order_with_percentile_zone_and_truncated_justification():
    text = batch_summary_markdown(enriched(), top_n=3, justification_chars=40)
    assert "## The 3 riskiest" in text
    top = _section(text, "## The 3 riskiest")
    assert top[0] == "| # | change | message | score | percentile | zone | tier | justification |"
    body = top[2:]
    assert len(body) == 3
    assert body[0].startswith("| 1 | CHG0004 | Risky \\| pipe | 0.9700 | 99.1 | top5 | high | ")
    assert body[1].startswith("| 2 | `0123456789ab` | Vendor import | 0.9500 | 96.5 | top5 | high | "), (
        "a git hash is shown by its 12-character prefix")
    assert body[2].startswith("| 3 | CHG0003 | Refactor | 0.8000 | 85.0 | top20 | high | large churn |")
    justification = body[1].rsplit(" | ", 1)[1].rstrip(" |")
    assert justification.endswith("…") and len(justification) == 40
    assert "&lt;b&gt;bold&lt;/b&gt; claim" in body[0], "model text cannot inject HTML"
    assert all(line.count(" | ") == body[0].count(" | ") for line in body), "no cell breaks the table"
    assert "CHG0000" not in text, "the least risky change is not in a top 3"


def test_without_zones_or_justification_and_an_empty_batch():
    rows = enriched().drop(columns=["risk_zone", "risk_percentile", "justification"])
    text = batch_summary_markdown(rows, top_n=2)
    table = _section(text, "## Zones and tiers")
    assert table[0] == "| tier | changes | share |"
    assert table[2:] == ["| high | 3 | 50% |", "| medium | 1 | 17% |", "| low | 2 | 33% |"]
    top = _section(text, "## The 2 riskiest")
    assert top[0] == "| # | change | message | score | tier |"

    empty = batch_summary_markdown(enriched().iloc[:0], quarantined=4, source="/x/new_changes.csv")
    assert "**0** changes enriched, **4** quarantined." in empty
    assert "Input: `new_changes.csv`" in empty and "_No change could be enriched._" in empty
    assert "## Zones" not in empty


def test_summary_path_is_beside_the_enriched_csv():
    assert summary_path("/out/risk.enriched.csv") == Path("/out/risk.enriched.summary.md")


def _batch_with_zones(counts: dict[str, int]) -> pd.DataFrame:
    zones = [z for z, k in counts.items() for _ in range(k)]
    n = len(zones)
    return pd.DataFrame({"_id": [f"CHG{i:04d}" for i in range(n)], "risk_score": [1.0 - i / n for i in range(n)],
                         "risk_zone": zones, "risk_tier": ["high"] * n})


def test_the_summary_warns_when_the_zones_hold_far_more_or_fewer_changes_than_planned():
    planned = batch_summary_markdown(_batch_with_zones({"top5": 10, "top10": 10, "top20": 20, "rest": 160}))
    assert "validation period put there" not in planned

    # the share of mined scrapy's test changes that its validation-period cut points put in each zone
    drifted = batch_summary_markdown(_batch_with_zones({"top5": 246, "top10": 97, "top20": 192, "rest": 1317}))
    warning = next(line for line in drifted.splitlines() if "validation period put there" in line)
    assert warning.startswith("**More changes in the risk zones")
    assert "top5 13% (expected 5%), top10 19% (expected 10%), top20 29% (expected 20%)" in warning

    quiet = batch_summary_markdown(_batch_with_zones({"rest": 300}))
    assert "**Fewer changes in the risk zones" in quiet and "top20 0% (expected 20%)" in quiet
    assert "validation period put there" not in batch_summary_markdown(enriched()), "6 changes: no verdict"
