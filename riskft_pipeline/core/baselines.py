"""Honest baselines for a per-field label: the majority class and TF-IDF + logistic regression (scikit-learn).

A fine-tuned model is only worth its cost if it beats these on the same split. Missing labels (``None``) are a class
of their own, exactly as in :mod:`riskft_pipeline.core.metrics`, so a field that is often empty is scored fairly.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np

_NULL = "\x00null"  # internal stand-in for None: sklearn needs one label type


def _encode(labels: Sequence) -> list[str]:
    return [_NULL if _missing(v) else str(v) for v in labels]


def _decode(labels) -> list:
    return [None if v == _NULL else str(v) for v in labels]


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v))


def majority_baseline(train_labels: Sequence, n: int) -> list:
    """The most frequent training label (``None`` included), ``n`` times. Ties go to the label seen first."""
    if not len(train_labels):
        return [None] * n
    counts = Counter(_encode(train_labels))
    first_seen = {lab: i for i, lab in reversed(list(enumerate(_encode(train_labels))))}
    best = max(counts, key=lambda lab: (counts[lab], -first_seen[lab]))
    return _decode([best] * n)


def tfidf_lr_baseline(train_texts: Sequence[str], train_labels: Sequence, test_texts: Sequence[str],
                      seed: int = 0) -> list:
    """TF-IDF (word 1-2 grams + char 3-5 grams) then multinomial logistic regression, for one label. With a single
    training class (or none), or no text at all, there is nothing to learn and the majority answer is returned."""
    return tfidf_lr_fields(train_texts, {"label": train_labels}, test_texts, seed=seed)["label"]


def tfidf_lr_fields(train_texts: Sequence[str], labels: Mapping[str, Sequence], test_texts: Sequence[str],
                    seed: int = 0) -> dict[str, list]:
    """:func:`tfidf_lr_baseline` for several labels of the same texts: the features are fitted once.

    Runs single-threaded: on these sizes BLAS/OpenMP threads only add synchronisation (40x slower on a busy 2-core
    machine, measured)."""
    from threadpoolctl import threadpool_limits

    train_texts = [t or "" for t in train_texts]
    out = {k: majority_baseline(v, len(test_texts)) for k, v in labels.items()}
    learnable = [k for k, v in labels.items() if len(set(_encode(v))) >= 2]
    if not learnable or not len(test_texts) or not any(t.strip() for t in train_texts):
        return out
    features = tfidf_features()
    with threadpool_limits(1):
        x_train = features.fit_transform(train_texts)
        x_test = features.transform([t or "" for t in test_texts])
        for name in learnable:
            out[name] = _fit_predict(x_train, _encode(labels[name]), x_test, seed)
    return out


def tfidf_lr_proba_fields(train_texts: Sequence[str], labels: Mapping[str, Sequence],
                          texts: Mapping[str, Sequence[str]], seed: int = 0
                          ) -> dict[str, tuple[list, dict[str, np.ndarray]]]:
    """The probabilistic form of :func:`tfidf_lr_fields` (same features, same model): per label, ``(classes,
    {name: probabilities})`` for each list of texts in ``texts`` (e.g. validation and test), columns in ``classes``
    order (``None`` for a missing label, first when present). A field with one training class gets probability 1."""
    from threadpoolctl import threadpool_limits

    train_texts = [t or "" for t in train_texts]
    out: dict[str, tuple[list, dict[str, np.ndarray]]] = {}
    features = tfidf_features()
    with threadpool_limits(1):
        fitted = any(t.strip() for t in train_texts)
        if fitted:
            x_train = features.fit_transform(train_texts)
            x = {name: features.transform([t or "" for t in ts]) for name, ts in texts.items()}
        for name, y in labels.items():
            encoded = _encode(y)
            classes = sorted(set(encoded), key=lambda c: (c != _NULL, c))
            if len(classes) < 2 or not fitted:
                counts = Counter(encoded)
                prior = np.array([counts[c] / max(len(encoded), 1) for c in classes]) if classes else np.zeros(0)
                out[name] = (_decode(classes), {k: np.tile(prior, (len(ts), 1)) for k, ts in texts.items()})
                continue
            model = _fit(x_train, encoded, seed)
            cols = [list(model.classes_).index(c) for c in classes]
            out[name] = (_decode(classes), {k: model.predict_proba(x[k])[:, cols] for k in texts})
    return out


def tfidf_features():
    """Word 1-2 grams + character 3-5 grams, sublinear TF-IDF."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_union

    return make_union(
        TfidfVectorizer(ngram_range=(1, 2), token_pattern=r"(?u)\b\w+\b", sublinear_tf=True),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True),
    )


def _fit(x_train, y: list[str], seed: int):
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=10.0, max_iter=1000, random_state=seed)
    with warnings.catch_warnings():
        # free-text fields have nearly one class per example: intended here (a nearest-template baseline)
        warnings.filterwarnings("ignore", message="The number of unique classes is greater than 50%")
        model.fit(x_train, y)
    return model


def _fit_predict(x_train, y: list[str], x_test, seed: int) -> list:
    return _decode(_fit(x_train, y, seed).predict(x_test))
