"""The study's measures against definitions worked out by hand: alpha, binomial test, bootstrap."""

from __future__ import annotations

import math

import numpy as np
import pytest

from improved_gan.turing.agreement import krippendorff_alpha_nominal
from improved_gan.turing.intervals import (
    binomial_two_sided_p,
    cluster_bootstrap_difference,
    cluster_bootstrap_interval,
)


def test_alpha_binary_by_hand():
    # Units (images): [G, G], [R, R], [G, R]. Coincidences: o_GG = 2, o_RR = 2,
    # o_GR = o_RG = 1 (each unit's ordered pairs weighted 1/(m-1) = 1).
    # n_G = 3, n_R = 3, n = 6; alpha = 1 - (n-1) * (o_GR + o_RG) / (n_G n_R + n_R n_G)
    #                                = 1 - 5 * 2 / 18 = 4/9.
    units = [["g", "g"], ["r", "r"], ["g", "r"]]
    assert krippendorff_alpha_nominal(units) == pytest.approx(4 / 9)


def test_alpha_three_answers_in_a_unit_by_hand():
    # Unit [G, G, R]: ordered pairs G-G: 2, G-R: 2, R-G: 2, weighted 1/(3-1):
    # o_GG = 1, o_GR = o_RG = 1. Unit [R, R]: o_RR = 2. A lone answer [G] is left out.
    # n_G = 2, n_R = 3, n = 5: alpha = 1 - 4 * 2 / (2 * 2 * 3) = 1/3.
    assert krippendorff_alpha_nominal([["g", "g", "r"], ["r", "r"], ["g"]]) == pytest.approx(1 / 3)


def test_alpha_krippendorffs_published_example():
    # Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C:
    # four observers, twelve units, nominal data, alpha = 0.743.
    table = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
        [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
    ]
    units = [[row[u] for row in table if row[u] is not None] for u in range(12)]
    assert krippendorff_alpha_nominal(units) == pytest.approx(0.743, abs=5e-4)


def test_alpha_extremes_and_undefined():
    assert krippendorff_alpha_nominal([["g", "g"], ["r", "r"]]) == 1.0
    assert krippendorff_alpha_nominal([["g", "r"], ["r", "g"]]) < 0  # systematic disagreement
    assert math.isnan(krippendorff_alpha_nominal([["g", "g"], ["g", "g"]]))  # no variation
    assert math.isnan(krippendorff_alpha_nominal([["g"], ["r"]]))  # nothing pairable


def test_binomial_p_by_hand():
    # 8 of 10 at p = 1/2: P(X >= 8) = (45 + 10 + 1) / 1024; symmetric, so p = 112/1024.
    assert binomial_two_sided_p(8, 10) == pytest.approx(112 / 1024)
    assert binomial_two_sided_p(5, 10) == pytest.approx(1.0)
    assert binomial_two_sided_p(0, 3) == pytest.approx(2 / 8)
    # Asymmetric: 0 of 4 at p = 0.3: P(0) = 0.7^4 = 0.2401; values no more likely:
    # P(3) = 4 * 0.3^3 * 0.7 = 0.0756, P(4) = 0.0081, P(0) itself; P(1) = 0.4116 and
    # P(2) = 0.2646 are more likely. p = 0.2401 + 0.0756 + 0.0081 = 0.3238.
    assert binomial_two_sided_p(0, 4, 0.3) == pytest.approx(0.3238)
    assert binomial_two_sided_p(0, 0) == 1.0
    with pytest.raises(ValueError):
        binomial_two_sided_p(3, 2)


def test_cluster_bootstrap_two_annotators_by_hand():
    # Annotator A: 0 of 10 right, B: 10 of 10. A resample is AA, AB, BA or BB: pooled
    # accuracy 0, 1/2, 1/2, 1 with probabilities 1/4, 1/2, 1/4; its 2.5% and 97.5%
    # quantiles are 0 and 1. HYPE-infinity's interval is 1 minus these.
    low, high = cluster_bootstrap_interval(np.array([0, 10]), np.array([10, 10]))
    assert (low, high) == (0.0, 1.0)
    # All annotators alike: every resample gives the same ratio.
    assert cluster_bootstrap_interval(np.array([3, 3, 3]), np.array([4, 4, 4])) == (0.75, 0.75)
    assert all(math.isnan(x) for x in cluster_bootstrap_interval(np.array([1]), np.array([2])))


def test_cluster_bootstrap_difference_keeps_an_annotators_halves_together():
    # Every annotator improves by exactly 0.25 between halves: each resample does too.
    second = (np.array([3, 3, 3]), np.array([4, 4, 4]))
    first = (np.array([2, 2, 2]), np.array([4, 4, 4]))
    assert cluster_bootstrap_difference(second, first) == pytest.approx((0.25, 0.25))
