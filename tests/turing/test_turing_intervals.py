"""Confidence intervals against independent references (SciPy, Newcombe 1998, naive loops)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binomtest

from improved_gan.turing.intervals import (
    cluster_bootstrap_interval,
    newcombe_difference_interval,
    proportion,
    wilson_interval,
)


@pytest.mark.parametrize("k,n", [(0, 1), (1, 1), (3, 10), (52, 100), (787, 1000), (0, 40), (40, 40)])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_wilson_matches_scipy(k, n, confidence):
    expected = binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
    low, high = wilson_interval(k, n, confidence=confidence)
    assert low == pytest.approx(expected.low, abs=1e-12)
    assert high == pytest.approx(expected.high, abs=1e-12)


def test_wilson_known_value():
    # 81 of 263 (Newcombe 1998, Table I, example): 0.2553 to 0.3662.
    low, high = wilson_interval(81, 263)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)


def test_wilson_undefined_without_trials_and_rejects_bad_counts():
    assert all(math.isnan(v) for v in wilson_interval(0, 0))
    with pytest.raises(ValueError):
        wilson_interval(5, 4)
    with pytest.raises(ValueError):
        wilson_interval(1, 2, confidence=1.0)


def test_proportion_holds_counts_and_interval():
    p = proportion(3, 4)
    assert p.estimate == 0.75 and p.low < 0.75 < p.high
    assert p.to_dict()["ci95"] == [round(p.low, 6), round(p.high, 6)]
    assert proportion(0, 0).to_dict()["estimate"] is None


def test_newcombe_difference_matches_published_example():
    # Newcombe (1998), Table II, example (a): 56/70 - 48/80, method 10: 0.0524 to 0.3339.
    d, low, high = newcombe_difference_interval(proportion(56, 70), proportion(48, 80))
    assert d == pytest.approx(0.2)
    assert (round(low, 4), round(high, 4)) == (0.0524, 0.3339)


def _bootstrap_loop(successes, trials, *, n_resamples, seed, confidence=0.95):
    """The same percentile bootstrap, one replicate at a time in plain Python."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(trials), size=(n_resamples, len(trials)))
    ratios = []
    for row in picks:
        k = sum(successes[i] for i in row)
        n = sum(trials[i] for i in row)
        ratios.append(k / n)
    ratios.sort()
    alpha = (1 - confidence) / 2
    return tuple(np.quantile(ratios, [alpha, 1 - alpha]))


def test_cluster_bootstrap_matches_loop():
    successes = [3, 9, 5, 10, 1, 7]
    trials = [10, 10, 10, 12, 4, 9]
    fast = cluster_bootstrap_interval(np.array(successes), np.array(trials), n_resamples=300, seed=4)
    slow = _bootstrap_loop(successes, trials, n_resamples=300, seed=4)
    assert fast == pytest.approx(slow, abs=1e-12)


def test_cluster_bootstrap_collapses_when_annotators_agree_and_widens_when_they_differ():
    same = cluster_bootstrap_interval(np.full(20, 7), np.full(20, 10))
    assert same == pytest.approx((0.7, 0.7))
    # Half the annotators always right, half always wrong: pooled 50%, yet
    # far less certain than 400 independent votes (Wilson +-4.9 points).
    split = cluster_bootstrap_interval(np.array([20] * 10 + [0] * 10), np.full(20, 20))
    low, high = wilson_interval(200, 400)
    assert split[1] - split[0] > 3 * (high - low)
    assert all(math.isnan(v) for v in cluster_bootstrap_interval(np.array([3]), np.array([5])))
