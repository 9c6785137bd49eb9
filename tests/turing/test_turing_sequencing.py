"""Balanced, non-repeating, unpredictable sequences; least-shown images first; arms kept level."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from improved_gan.turing.sequencing import choose_feedback, draw_sequence, least_shown

REAL = list(range(100, 120))
GENERATED = list(range(200, 220))


def test_sequence_is_balanced_and_non_repeating():
    for seed in range(20):
        seq = draw_sequence(REAL, GENERATED, per_session=16, exposures={}, rng=random.Random(seed))
        assert len(seq) == len(set(seq)) == 16
        assert sum(i in REAL for i in seq) == sum(i in GENERATED for i in seq) == 8


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
    for _ in range(10):  # 10 sessions x 4 per kind = 40 = 2 x 20 images
        exposures.update(draw_sequence(REAL, GENERATED, per_session=8, exposures=exposures, rng=rng))
    assert set(exposures.values()) == {2}


def test_refuses_impossible_requests():
    with pytest.raises(ValueError, match="even"):
        draw_sequence(REAL, GENERATED, per_session=7, exposures={})
    with pytest.raises(ValueError, match="cannot pick"):
        draw_sequence(REAL[:2], GENERATED, per_session=6, exposures={})


def test_feedback_arms():
    assert choose_feedback("on", with_feedback=9, without_feedback=0) is True
    assert choose_feedback("off", with_feedback=0, without_feedback=9) is False
    assert choose_feedback("random", with_feedback=3, without_feedback=4) is True
    assert choose_feedback("random", with_feedback=4, without_feedback=3) is False
    draws = [choose_feedback("random", with_feedback=2, without_feedback=2, rng=random.Random(s))
             for s in range(200)]
    assert 60 < sum(draws) < 140
    with pytest.raises(ValueError):
        choose_feedback("sometimes", with_feedback=0, without_feedback=0)
