"""The runner: recorded points, prefixes, divergence, labels."""

from __future__ import annotations

import math

import numpy as np
import pytest

from improved_gan.errors import UserError
from improved_gan.games import BilinearGame, KinkedGame, Method, default_methods, run_game
from improved_gan.games.runner import run_lanes


def test_a_long_run_starts_with_the_short_run():
    """Runs are deterministic and causal (the historical mean only looks back)."""
    method = Method("alternating", 0.5)
    short = run_game(KinkedGame(), method, lr=0.05, steps=150)
    long = run_game(KinkedGame(), method, lr=0.05, steps=400)
    np.testing.assert_array_equal(long.points[:151], short.points)


@pytest.mark.parametrize("rule", ["simultaneous", "alternating", "extragradient", "optimistic"])
def test_lanes_are_exactly_independent_runs(rule):
    """Lanes with different starts and step sizes, some diverging, equal their runs alone, bit for bit."""
    lrs = [0.02, 0.1, 0.3, 0.05]
    starts = [(-0.5, 2.0), (2.0, 0.0), (0.5, -1.0), (3.0, 3.0)]
    method = Method(rule, 0.25 if rule in ("simultaneous", "alternating") else 0.0)
    lanes = run_lanes(KinkedGame(), method, lrs=lrs, starts=starts, steps=600, escape_radius=50.0)
    for lane, lr, start in zip(lanes, lrs, starts):
        alone = run_game(KinkedGame(), method, lr=lr, steps=600, start=start, escape_radius=50.0)
        assert (lane.lr, lane.diverged_at) == (lr, alone.diverged_at)
        np.testing.assert_array_equal(lane.points, alone.points)


def test_a_lane_that_diverges_does_not_stop_the_others():
    lanes = run_lanes(KinkedGame(), Method("simultaneous"), lrs=[0.1, 0.01], starts=[(-0.5, 2.0)] * 2, steps=300)
    assert lanes[0].diverged and not lanes[1].diverged
    assert len(lanes[0].points) == lanes[0].diverged_at and len(lanes[1].points) == 301
    assert np.isfinite(lanes[1].points).all()


def test_mismatched_lanes_are_refused():
    with pytest.raises(ValueError, match=r"expected one step size per start \(got 2 step sizes, 1 starts\)"):
        run_lanes(KinkedGame(), Method("simultaneous"), lrs=[0.1, 0.2], starts=[(0.0, 0.0)], steps=1)


def test_points_distances_and_start():
    trajectory = run_game(BilinearGame(), Method("simultaneous"), lr=0.1, steps=10, start=(3.0, 4.0))
    assert trajectory.points.shape == (11, 2) and trajectory.points.dtype == np.float64
    assert trajectory.points[0].tolist() == [3.0, 4.0]
    assert trajectory.start_distance == 5.0
    # rel 1e-15 (4.5 eps): a float64 norm of 2 numbers by another formula than hypot, within ~2 ulp
    assert trajectory.final_distance == pytest.approx(np.hypot(*trajectory.points[-1]), rel=1e-15)
    assert not trajectory.diverged


def test_zero_steps_records_only_the_default_start():
    trajectory = run_game(KinkedGame(), Method("simultaneous"), lr=0.1, steps=0)
    assert trajectory.points.tolist() == [list(KinkedGame.default_start)]


def test_a_run_that_escapes_stops_and_says_where():
    """Simultaneous GD on game 1 grows like (1 + lr^2)^(t/2): with lr = 1 it passes 1e6 at step 39."""
    trajectory = run_game(BilinearGame(), Method("simultaneous"), lr=1.0, steps=100, escape_radius=1e6)
    first_out = next(t for t in range(101) if math.sqrt(2) * 2 ** (t / 2) > 1e6)
    assert trajectory.diverged_at == first_out == 39
    assert len(trajectory.points) == first_out
    assert trajectory.final_distance == math.inf
    assert trajectory.distances()[-1] <= 1e6


def test_methods_check_their_rule_and_weight():
    with pytest.raises(UserError, match="unknown update rule 'adam': choose one of simultaneous"):
        Method("adam")
    with pytest.raises(UserError, match=r"historical-averaging weight must be >= 0 \(got nan\)"):
        Method("simultaneous", float("nan"))


def test_negative_steps_are_refused():
    with pytest.raises(ValueError, match=r"steps must be >= 0 \(got -1\)"):
        run_game(BilinearGame(), Method("simultaneous"), lr=0.1, steps=-1)


def test_default_methods_cover_both_paper_rules_with_and_without_history_then_the_remedies():
    methods = default_methods(0.25)
    assert [(m.rule, m.history_weight, m.from_paper) for m in methods] == [
        ("simultaneous", 0.0, True),
        ("alternating", 0.0, True),
        ("simultaneous", 0.25, True),
        ("alternating", 0.25, True),
        ("extragradient", 0.0, False),
        ("optimistic", 0.0, False),
    ]
    assert methods[2].label == "simultaneous GD + HA (w=0.25)"
    assert methods[4].label == "extragradient (not in paper)"
