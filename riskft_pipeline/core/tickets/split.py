"""Deterministic, leak-free train/val/test assignment.

* Grouped: rows whose texts are identical or near-identical share a group, and a group never spans two splits.
  Near-identical means the same letters once case, digits, punctuation and placeholders are ignored (so
  "Error 404 on host-7" and "error 500 on host 9" group together), either for the whole text or for the body
  alone (the same body under another subject line). Groups are the connected components of both keys.
* Deterministic and append-stable: a group's split comes from a keyed hash (blake2b with the seed) of its
  representative key, never from row order or row count, so appending rows leaves the existing assignments alone
  unless a new row links two old groups or lifts a category over the rarity threshold.
* Rare categories (fewer than ``min_count`` rows of a category or subcategory) go to train, so the model sees
  every class at least once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

SPLITS: tuple[str, ...] = ("train", "val", "test")
RARE_FIELDS: tuple[str, ...] = ("category", "subcategory")


def near_dup_key(texts: pd.Series) -> pd.Series:
    """Lower-case letters (any script) only, single-spaced: equal keys mean near-identical texts.

    Arrow kernels, not pandas ``str`` methods: RE2's ``\\pL`` keeps Chinese, Cyrillic or Greek tickets apart
    (an ASCII-only key would give them all the same empty key), and only non-letter runs are rewritten.
    """
    arr = pa.array(texts.fillna("").astype("str").array)
    letters = pc.replace_substring_regex(pc.utf8_lower(arr), pattern=r"[^\pL ]+", replacement=" ")
    squashed = pc.utf8_trim(
        pc.replace_substring_regex(letters, pattern=" {2,}", replacement=" "), characters=" "
    )
    return pd.Series(squashed.to_pandas(types_mapper=pd.ArrowDtype).astype("str").array, index=texts.index)


def _keys(texts: pd.Series) -> tuple[pd.Series, pd.Series]:
    """The two near-duplicate keys: whole text, and body without the subject line (whole when no body).

    The whole-text key is built from the subject and body keys, so the text is scanned once, not twice.
    """
    texts = texts.fillna("").astype("str")
    subject = near_dup_key(texts.str.replace("\n[\x00-\U0010ffff]*", "", regex=True))
    body = near_dup_key(texts.str.replace("^[^\n]*\n?", "", regex=True))
    whole = (subject + " " + body).str.strip()
    return whole, body.mask(body == "", whole)


def group_ids(texts: pd.Series) -> pd.Series:
    """Connected components over the two near-duplicate keys, named by their smallest whole-text key."""
    whole, body = _keys(texts)
    codes_a = pd.factorize(whole)[0]
    codes_b = pd.factorize(body)[0]
    component = codes_a.copy()
    while True:
        by_b = pd.Series(component).groupby(codes_b).transform("min").to_numpy()
        merged = pd.Series(by_b).groupby(codes_a).transform("min").to_numpy()
        if np.array_equal(merged, component):
            break
        component = merged
    names = pd.Series(whole.to_numpy()).groupby(component).transform("min")
    return pd.Series(names.to_numpy(), index=texts.index)


def _unit_hash(keys: Iterable[str], seed: int) -> np.ndarray:
    """A uniform number in [0, 1) per key, the same on every machine and library version."""
    salt = str(seed).encode()
    return np.array(
        [
            int.from_bytes(hashlib.blake2b(k.encode(), digest_size=8, key=salt).digest(), "big") / 2**64
            for k in keys
        ]
    )


def assign_splits(
    clean: pd.DataFrame,
    *,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    seed: int = 13,
    min_count: int = 3,
) -> pd.Series:
    """'train' | 'val' | 'test' for each row of ``clean`` (same index)."""
    if not (0 <= val_fraction and 0 <= test_fraction and val_fraction + test_fraction < 1):
        raise ValueError(
            f"split fractions must be >= 0 and sum below 1 (val {val_fraction}, test {test_fraction})"
        )
    groups = group_ids(clean["text"])
    unique_groups = pd.unique(groups)
    u = pd.Series(_unit_hash(unique_groups, seed), index=unique_groups)
    u = u.reindex(groups.to_numpy()).to_numpy()
    split = np.where(u < test_fraction, "test", np.where(u < test_fraction + val_fraction, "val", "train"))
    rare = _rare_rows(clean, min_count)
    rare_groups = set(groups[rare])
    split = np.where(groups.isin(rare_groups).to_numpy(), "train", split)
    return pd.Series(split, index=clean.index, name="split", dtype=object)


def _rare_rows(clean: pd.DataFrame, min_count: int) -> pd.Series:
    rare = pd.Series(False, index=clean.index)
    for col in RARE_FIELDS:
        if col in clean.columns:
            counts = clean[col].map(clean[col].value_counts())
            rare |= clean[col].notna() & (counts < min_count)
    return rare


def split_overlap(splits: Mapping[str, Iterable[str]]) -> int:
    """How many near-duplicate keys (whole text or body) occur in more than one split (0 means no leak)."""
    seen: dict[str, set[str]] = {}
    for name, texts in splits.items():
        whole, body = _keys(pd.Series(list(texts), dtype=object))
        for key in set(whole) | set(body):
            seen.setdefault(key, set()).add(name)
    return sum(1 for names in seen.values() if len(names) > 1)
