"""The Inception score formula against an independent computation of the original definition."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from improved_gan.metrics.inception_formula import (
    inception_score,
    inception_score_from_logits,
    split_bounds,
)


def _random_probabilities(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    p = rng.dirichlet(np.full(k, 0.3), size=n)  # peaked rows
    p[p < 0.01] = 0.0  # exact zeros, which the definition counts as 0 log 0 = 0
    return p / p.sum(axis=1, keepdims=True)


def _original_definition(p: np.ndarray, splits: int) -> tuple[float, float]:
    """The authors' loop, written out with Python floats: one KL per sample, one exp per split."""
    n = len(p)
    scores = []
    for k in range(splits):
        rows = p[k * n // splits : (k + 1) * n // splits]
        marginal = [sum(row[y] for row in rows) / len(rows) for y in range(p.shape[1])]
        kls = [
            sum(row[y] * (math.log(row[y]) - math.log(marginal[y])) for y in range(p.shape[1]) if row[y] > 0)
            for row in rows
        ]
        scores.append(math.exp(sum(kls) / len(kls)))
    mean = sum(scores) / splits
    std = math.sqrt(sum((s - mean) ** 2 for s in scores) / splits)  # ddof 0
    return mean, std


@pytest.mark.parametrize("n, k, splits", [(100, 10, 10), (73, 7, 10), (40, 1008, 4), (12, 3, 1)])
def test_matches_original_definition(n, k, splits):
    p = _random_probabilities(np.random.default_rng(n * k), n, k)
    mean, std = inception_score(p, splits=splits)
    expected_mean, expected_std = _original_definition(p, splits)
    # 1e-10: float64, <= 1008 terms p log(p / marginal) per KL and one exp: the two orders differ by ~1008 eps
    # of log terms <= 10 (~2e-12 at worst in the score of ~1-10), so 1e-10 relative and absolute (std may be 0);
    # a lost row, another marginal or ddof 1 changes the score by > 1e-3
    assert mean == pytest.approx(expected_mean, rel=1e-10, abs=1e-10)
    assert std == pytest.approx(expected_std, rel=1e-10, abs=1e-10)


def test_matches_vectorised_numpy_of_the_released_code():
    """The released code's NumPy expression, on strictly positive probabilities where log is safe."""
    rng = np.random.default_rng(1)
    p = rng.dirichlet(np.ones(10), size=1000)
    scores = []
    for k in range(10):
        part = p[k * 100 : (k + 1) * 100]
        kl = part * (np.log(part) - np.log(part.mean(axis=0, keepdims=True)))
        scores.append(np.exp(kl.sum(axis=1).mean()))
    mean, std = inception_score(p)
    # 1e-10 absolute of scores ~5: float64 sums of 10 x 100 terms in another order (~1e-13)
    assert abs(mean - np.mean(scores)) < 1e-10
    assert abs(std - np.std(scores)) < 1e-10


@pytest.mark.parametrize("k", [2, 10, 1008])
def test_one_hot_spread_evenly_gives_k(k):
    one_hot = np.tile(np.eye(k), (3, 1))  # every split below holds every class once
    mean, std = inception_score(one_hot, splits=3)
    # 1e-12: exp(log k) with KLs of exact zeros and log(1/k): a few eps of k; k - 1 classes would be off by 1/k
    assert mean == pytest.approx(k, rel=1e-12)
    assert std == pytest.approx(0.0, abs=1e-12)


def test_identical_predictions_give_one():
    row = _random_probabilities(np.random.default_rng(2), 1, 10)
    mean, std = inception_score(np.repeat(row, 50, axis=0))
    # 1e-12: each KL is p log(p / mean of 5 equal p), ~eps per term of <= 10 terms: exp of ~1e-15
    assert mean == pytest.approx(1.0, abs=1e-12)
    assert std == pytest.approx(0.0, abs=1e-12)


def test_zero_probabilities_count_as_zero_log_zero():
    p = np.zeros((20, 4))
    p[:10, 0] = 1.0
    p[10:, 1] = 1.0
    mean, std = inception_score(p, splits=1)
    assert mean == pytest.approx(2.0, rel=1e-12)  # two classes, confidently, evenly: exp(log 2), a few eps
    assert np.isfinite(std)


def test_score_lies_between_one_and_k():
    p = _random_probabilities(np.random.default_rng(3), 500, 10)
    mean, _ = inception_score(p)
    assert 1.0 < mean < 10.0


def test_splits_are_contiguous_unshuffled_and_use_every_sample():
    bounds = split_bounds(25, 10)
    assert [stop - start for start, stop in bounds] == [2, 3] * 5
    assert bounds[0][0] == 0 and bounds[-1][1] == 25
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
    # the per-split std sees the order: sorted predictions give splits with one class each
    p = np.repeat(np.eye(5), 10, axis=0)  # 50 rows, class changes every 10 rows
    # pytest.approx's default rel=1e-6 in this test and the next: exact 0/1 probabilities give exp(0) = 1 and
    # exp(log 2) to a few eps; the scores they tell apart differ by > 1e-2
    assert inception_score(p, splits=5).mean == pytest.approx(1.0)
    rng = np.random.default_rng(4)
    assert inception_score(p[rng.permutation(50)], splits=5).mean > 3.0


def test_std_is_population_std_over_splits():
    eye = np.eye(4)
    p = np.concatenate([np.tile(eye[:2], (5, 1)), np.tile(eye, (3, 1))[:10]])  # 2 classes, then 4 unevenly
    s1 = inception_score(p[:10], splits=1).mean
    s2 = inception_score(p[10:], splits=1).mean
    assert s1 == pytest.approx(2.0) and s2 > 3.0
    mean, std = inception_score(p, splits=2)
    assert mean == pytest.approx((s1 + s2) / 2)
    assert std == pytest.approx(abs(s1 - s2) / 2)  # ddof 0; ddof 1 would give |s1 - s2| / sqrt(2)


def test_from_logits_is_float64_softmax_and_accepts_torch():
    logits = torch.randn(60, 10, dtype=torch.float32) * 5
    p = torch.softmax(logits.double(), dim=1).numpy()
    # rel=1e-12: two float64 softmaxes of the same logits |l| < 25 differ by a few eps relative per p, so each
    # log p by ~1e-15 and the score by ~eps times the KLs' size; float32 softmax would be off by ~1e-7.
    # approx's default (1e-6) for huge: exp(log 2) with exact one-hot probabilities
    assert inception_score_from_logits(logits, splits=3) == pytest.approx(inception_score(p, splits=3), rel=1e-12)
    huge = np.array([[1000.0, 0.0], [0.0, 1000.0]])  # exp would overflow without the shift
    assert inception_score_from_logits(huge, splits=1).mean == pytest.approx(2.0)


@pytest.mark.parametrize(
    "probabilities, splits, message",
    [
        (np.ones(10) / 10, 1, "shape"),
        (np.full((5, 2), 0.5), 10, "at least one sample per split"),
        (np.full((5, 2), 0.5), 0, "splits >= 1"),
        (np.full((5, 2), 0.7), 1, "sum to 1"),
        (np.array([[1.5, -0.5]]), 1, "non-negative"),
        (np.array([[np.nan, 1.0]]), 1, "nan"),
    ],
)
def test_bad_input_is_rejected(probabilities, splits, message):
    with pytest.raises(ValueError, match=message):
        inception_score(probabilities, splits=splits)
