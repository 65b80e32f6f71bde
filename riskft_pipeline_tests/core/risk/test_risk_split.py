"""The time split: never shuffled, the literature's 80/20 sizes, validation = the most recent slice of the training
period, and a leakage check that catches overlap."""

from __future__ import annotations

import pandas as pd
import pytest

from riskft_pipeline.core.errors import InputError
from riskft_pipeline.core.risk.split import assert_no_leakage, split_sizes, time_split


def test_sizes_match_the_published_splits():
    # openstack 22,757 rows -> 18,205 / 4,552; qt 23,912 -> 19,129 / 4,783 (ISSTA'21 replication data)
    train, val, test = split_sizes(22757, 0.2, 0.1)
    assert (train + val, test) == (18205, 4552) and val == 1820
    train, val, test = split_sizes(23912, 0.2, 0.1)
    assert (train + val, test) == (19129, 4783)


def test_split_follows_dates_and_never_shuffles(history):
    shuffled = history.sample(frac=1.0, random_state=0)
    s = time_split(shuffled)
    order = history.sort_values("date", kind="stable")["_id"].tolist()
    assert s.train["_id"].tolist() + s.val["_id"].tolist() + s.test["_id"].tolist() == order
    assert s.train["date"].max() <= s.val["date"].min() <= s.val["date"].max() <= s.test["date"].min()
    assert s.sizes() == {"train": 432, "val": 48, "test": 120}


def test_validation_is_the_most_recent_slice_of_the_training_period(split, history):
    period = history.iloc[: len(split.train) + len(split.val)]
    assert split.val["_id"].tolist() == period["_id"].tolist()[-len(split.val):]
    assert split.boundaries["val_end"] < split.boundaries["test_start"]
    assert split.boundaries["train_end"] <= split.boundaries["val_start"]
    assert split.describe()["boundaries"]["test_end"].endswith("Z")


def test_equal_dates_keep_file_order():
    df = pd.DataFrame({"_id": [f"c{i}" for i in range(20)], "date": [5] * 20, "bug": [0, 1] * 10})
    s = time_split(df)
    assert s.test["_id"].tolist() == [f"c{i}" for i in range(16, 20)]


def test_too_few_rows_raise_input_error():
    df = pd.DataFrame({"_id": list("abcde"), "date": range(5), "bug": [0, 1, 0, 1, 0]})
    with pytest.raises(InputError, match="too few"):
        time_split(df)


def test_leakage_check_catches_shared_ids_and_time_overlap(split):
    assert_no_leakage(split)
    leaked = type(split)(train=split.train, val=split.val, test=pd.concat([split.test, split.train.iloc[:1]]),
                         boundaries=split.boundaries)
    with pytest.raises(ValueError, match="also in an earlier split"):
        assert_no_leakage(leaked)
    early = split.test.copy()
    early.loc[0, "date"] = split.train["date"].min()
    with pytest.raises(ValueError, match="overlap in time"):
        assert_no_leakage(type(split)(train=split.train, val=split.val, test=early, boundaries=split.boundaries))
