"""The claims of Section 3, measured over grids of step sizes, weights, step counts and starts.

Each grid of (step size, start) cells for one game and method runs once, as the
lanes of one batch (lanes are exactly independent runs:
``test_lanes_are_exactly_independent_runs``), for the largest step count; the
smaller step counts are read off the same trajectories, which are exactly the
shorter runs (``test_a_long_run_starts_with_the_short_run``).

Thresholds: "has not converged" means the distance to (1, 1) stays above 0.5
over the second half of the run (or the run escaped); "ends near the
equilibrium" means a final distance below 15% of the start distance (the
measured values are in docs/games.md).
"""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pytest

from improved_gan.games import BilinearGame, KinkedGame, Method, Trajectory, run_game
from improved_gan.games.runner import run_lanes

GAME_1_STARTS = ((1.0, 1.0), (-2.0, 0.5))
GAME_1_LRS = (0.01, 0.05, 0.1, 0.2)
REMEDY_LRS = (0.05, 0.1, 0.2)
GAME_2_STARTS = ((-0.5, 2.0), (2.0, 0.0))  # the first crosses the kink at x = 0
GAME_2_LRS = (0.02, 0.05, 0.1)
WEIGHTS = (0.25, 0.5)
STEPS = (2500, 5000)


@functools.lru_cache(maxsize=None)
def _grid(game_name: str, rule: str, weight: float, lrs: tuple, starts: tuple, steps: int) -> dict:
    """Every (lr, start) cell, run as the lanes of one batch: ``{(lr, start): Trajectory}``."""
    game = BilinearGame() if game_name == "bilinear" else KinkedGame()
    cells = list(itertools.product(lrs, starts))
    lanes = run_lanes(game, Method(rule, weight), lrs=[lr for lr, _ in cells], starts=[s for _, s in cells], steps=steps)
    return dict(zip(cells, lanes))


def _distance_at(trajectory: Trajectory, step: int) -> float:
    """Distance after ``step`` updates; inf if the run had escaped by then."""
    distances = trajectory.distances()
    return float(distances[step]) if step < len(distances) else np.inf


# --- game 1: x minimises xy, y minimises -xy ------------------------------------------------------


@pytest.mark.parametrize("start", GAME_1_STARTS)
@pytest.mark.parametrize("lr", GAME_1_LRS)
def test_game_1_simultaneous_gd_never_comes_closer_than_its_start(lr, start):
    trajectory = _grid("bilinear", "simultaneous", 0.0, GAME_1_LRS, GAME_1_STARTS, 5000)[(lr, start)]
    for steps in (1000, 5000):
        assert _distance_at(trajectory, steps) > trajectory.start_distance
    assert trajectory.distances().min() >= trajectory.start_distance  # at no step either


@pytest.mark.parametrize("start", GAME_1_STARTS)
@pytest.mark.parametrize("lr", GAME_1_LRS)
def test_game_1_alternating_gd_orbits_at_about_its_start_distance(lr, start):
    distances = _grid("bilinear", "alternating", 0.0, GAME_1_LRS, GAME_1_STARTS, 5000)[(lr, start)].distances()
    assert distances[2500:].min() > 0.8 * distances[0]
    assert distances.max() < 1.25 * distances[0]


@pytest.mark.parametrize("rule", ["extragradient", "optimistic"])
@pytest.mark.parametrize("lr", REMEDY_LRS)
@pytest.mark.parametrize("start", GAME_1_STARTS)
def test_game_1_remedies_beyond_the_paper_converge(rule, lr, start):
    trajectory = _grid("bilinear", rule, 0.0, REMEDY_LRS, GAME_1_STARTS, 6000)[(lr, start)]
    for steps in (3000, 6000):
        assert _distance_at(trajectory, steps) < 0.05 * trajectory.start_distance


# --- game 2: min_x max_y (f(x) - 1)(y - 1) ---------------------------------------------------------


@pytest.mark.parametrize("start", GAME_2_STARTS)
@pytest.mark.parametrize("lr", GAME_2_LRS)
@pytest.mark.parametrize("rule", ["simultaneous", "alternating"])
def test_game_2_plain_gd_has_not_converged(rule, lr, start):
    trajectory = _grid("kinked", rule, 0.0, GAME_2_LRS, GAME_2_STARTS, max(STEPS))[(lr, start)]
    distances = trajectory.distances()
    for steps in STEPS:
        if steps >= len(distances):
            assert trajectory.diverged  # escaped (simultaneous GD with the larger steps)
            continue
        # in the second half of the run it never gets within 0.5 of (1, 1)
        assert distances[steps // 2 : steps + 1].min() > 0.5, steps


@pytest.mark.parametrize("start", GAME_2_STARTS)
@pytest.mark.parametrize("lr", GAME_2_LRS)
@pytest.mark.parametrize("weight", WEIGHTS)
@pytest.mark.parametrize("rule", ["simultaneous", "alternating"])
def test_game_2_gd_with_historical_averaging_ends_near_the_equilibrium(rule, weight, lr, start):
    trajectory = _grid("kinked", rule, weight, GAME_2_LRS, GAME_2_STARTS, max(STEPS))[(lr, start)]
    assert not trajectory.diverged
    for steps in STEPS:
        assert _distance_at(trajectory, steps) < 0.15 * trajectory.start_distance, steps


def test_game_2_conclusion_does_not_depend_on_which_player_minimises():
    game = KinkedGame(x_minimises=False)
    plain = run_game(game, Method("alternating"), lr=0.05, steps=5000).distances()
    averaged = run_game(game, Method("simultaneous", 0.5), lr=0.05, steps=5000)
    assert plain[2500:].min() > 0.5
    assert averaged.final_distance < 0.15 * averaged.start_distance


@pytest.mark.parametrize("rule", ["extragradient", "optimistic"])
@pytest.mark.parametrize("lr", GAME_2_LRS[1:])
@pytest.mark.parametrize("start", GAME_2_STARTS)
def test_game_2_remedies_beyond_the_paper_converge(rule, lr, start):
    trajectory = _grid("kinked", rule, 0.0, GAME_2_LRS[1:], GAME_2_STARTS, 5000)[(lr, start)]
    assert trajectory.final_distance < 1e-3 * trajectory.start_distance
