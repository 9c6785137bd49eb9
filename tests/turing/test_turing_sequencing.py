"""Kinds by independent coins, non-repeating, unpredictable; least-shown first; arms level."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from improved_gan.turing.sequencing import assign_arms, draw_sequence, least_shown

REAL = list(range(100, 120))
GENERATED = list(range(200, 220))


def test_sequence_is_non_repeating_and_its_count_of_kinds_varies():
    counts = Counter()
    for seed in range(400):
        seq = draw_sequence(REAL, GENERATED, per_session=16, exposures={}, rng=random.Random(seed))
        assert len(seq) == len(set(seq)) == 16
        assert set(seq) <= set(REAL) | set(GENERATED)
        counts[sum(i in GENERATED for i in seq)] += 1
    # The number of generated images is Binomial(16, 1/2): mean 8, variance 4 (not always 8).
    values = [k for k, c in counts.items() for _ in range(c)]
    mean = sum(values) / len(values)
    variance = sum((v - mean) ** 2 for v in values) / (len(values) - 1)
    assert abs(mean - 8) < 0.4 and 3.0 < variance < 5.0


def test_kinds_of_neighbouring_positions_are_independent():
    # P(position p+1 generated | position p generated) = 1/2, as for a fair coin; with a
    # balanced session it would be (n/2 - 1)/(n - 1) = 4/9 for n = 10.
    both = first = 0
    for seed in range(3000):
        seq = draw_sequence(REAL, GENERATED, per_session=10, exposures={}, rng=random.Random(seed))
        kinds = [i in GENERATED for i in seq]
        first += sum(kinds[:-1])
        both += sum(a and b for a, b in zip(kinds, kinds[1:]))
    assert abs(both / first - 0.5) < 0.02


def test_kinds_are_spread_over_positions():
    # Over many sessions every position holds a generated image about half the time.
    counts = Counter()
    sessions = 2000
    for seed in range(sessions):
        seq = draw_sequence(REAL, GENERATED, per_session=10, exposures={}, rng=random.Random(seed))
        counts.update(p for p, i in enumerate(seq) if i in GENERATED)
    for position in range(10):
        assert abs(counts[position] / sessions - 0.5) < 0.05


def test_default_randomness_differs_between_sessions():
    orders = {tuple(draw_sequence(REAL, GENERATED, per_session=20, exposures={})) for _ in range(10)}
    assert len(orders) == 10


def test_least_shown_first_with_random_ties():
    exposures = {i: 5 for i in REAL[:15]}  # the last five real images never shown
    chosen = least_shown(REAL, 5, exposures, random.Random(0))
    assert sorted(chosen) == REAL[15:]
    picks = {tuple(sorted(least_shown(REAL, 3, {}, random.Random(s)))) for s in range(30)}
    assert len(picks) > 1


def test_exposures_even_out_over_sessions():
    exposures: Counter = Counter()
    rng = random.Random(1)
    for _ in range(10):
        exposures.update(draw_sequence(REAL, GENERATED, per_session=8, exposures=exposures, rng=rng))
    for pool in (REAL, GENERATED):  # within a kind, counts differ by at most one
        shown = [exposures[i] for i in pool]
        assert max(shown) - min(shown) <= 1


def test_refuses_impossible_requests():
    with pytest.raises(ValueError, match="per_session"):
        draw_sequence(REAL, GENERATED, per_session=0, exposures={})
    with pytest.raises(ValueError, match="cannot pick"):  # 12 coins cannot all fit in 2 real
        for seed in range(50):
            draw_sequence(REAL[:2], GENERATED, per_session=12, exposures={}, rng=random.Random(seed))


def test_feedback_arms():
    assert assign_arms("on", 3) == [True] * 3
    assert assign_arms("off", 2) == [False] * 2
    for seed in range(20):
        arms = assign_arms("random", 10, random.Random(seed))
        assert sum(arms) == 5
    odd = [sum(assign_arms("random", 5, random.Random(s))) for s in range(200)]
    assert set(odd) == {2, 3}
    orders = {tuple(assign_arms("random", 10, random.Random(s))) for s in range(20)}
    assert len(orders) > 10  # the arm of the k-th invitation is not predictable
    with pytest.raises(ValueError):
        assign_arms("sometimes", 1)
