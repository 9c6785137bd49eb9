"""Players: own gradients match hand derivatives; the historical-averaging term matches a naive mean."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from improved_gan.games import BilinearGame, KinkedGame, Players


def _kinked_own_gradients(points: np.ndarray) -> np.ndarray:
    """Hand derivatives of game 2 with x minimising (f(x)-1)(y-1) and y maximising it, [B, 2]."""
    rows = []
    for x, y in points:
        f, df = (x, 1.0) if x < 0 else (x * x, 2 * x)
        rows.append([df * (y - 1), -(f - 1)])
    return np.array(rows)


def test_gradients_without_history_are_the_game_field_lane_by_lane():
    starts = np.array([(-1.5, 2.0), (0.7, -0.3), (2.0, 1.0), (1.0, 3.0)])
    players = Players(KinkedGame(), starts)
    expected = _kinked_own_gradients(starts)
    grad_x, grad_y = players.gradient()
    # rtol 1e-15 (4.5 eps): autograd and the hand derivative are <= 3 correctly rounded float64 operations
    # (2x, y - 1, their product) on the same numbers, any CPU; a wrong factor or sign is O(1) off
    np.testing.assert_allclose(np.stack([grad_x, grad_y], axis=-1), expected, rtol=1e-15)
    np.testing.assert_allclose(players.gradient_x().numpy(), expected[:, 0], rtol=1e-15)
    np.testing.assert_allclose(players.gradient_y().numpy(), expected[:, 1], rtol=1e-15)
    assert players.x.dtype == torch.float64 and players.lanes == 4


def test_history_penalty_pulls_each_lane_towards_the_mean_of_its_own_points_so_far_including_the_current_one():
    weight = 0.3
    start = np.array([(1.0, -2.0), (0.0, 4.0), (-3.0, 0.5)])
    players = Players(BilinearGame(), start, history_weight=weight)
    visited = [start]
    rng = np.random.default_rng(0)
    for _ in range(7):
        point = rng.normal(size=(3, 2))
        players.move_to(torch.tensor(point[:, 0]), torch.tensor(point[:, 1]))
        players.record()
        visited.append(point)
        mean = np.mean(visited, axis=0)  # [3, 2]: naive mean over the start and every recorded point, per lane
        x, y = point[:, 0], point[:, 1]
        expected = np.stack([y, -x], axis=-1) + 2 * weight * (point - mean)
        # float64: a running mean of <= 8 points against NumPy's mean (~8 eps of O(1) values, 1e-13 relative
        # with atol for entries near 0); leaving the current point out of the mean moves it by >= 1e-2
        np.testing.assert_allclose(np.stack(players.gradient(), axis=-1), expected, rtol=1e-13, atol=1e-15)


def test_history_is_per_player_and_off_at_weight_zero():
    assert Players(KinkedGame(), [(0.0, 0.0)]).history is None
    players = Players(KinkedGame(), [(0.5, 0.5)], history_weight=1.0)
    history_x, history_y = players.history
    assert history_x.params == [players.x] and history_y.params == [players.y]
    assert history_x.weight == history_y.weight == 1.0


def test_costs_at_the_start_have_no_penalty_and_sum_over_lanes():
    players = Players(KinkedGame(), [(2.0, 3.0), (-1.0, 0.0)], history_weight=5.0)
    cost_x, cost_y = players.costs()
    assert cost_x.item() == (4.0 - 1.0) * (3.0 - 1.0) + (-1.0 - 1.0) * (0.0 - 1.0) == -cost_y.item()


def test_position_and_point_are_copies_and_move_to_sets_both():
    players = Players(BilinearGame(), [(1.0, 2.0)])
    x, y = players.position()
    x += 10
    point = players.point()
    point += 10
    assert players.point().tolist() == [[1.0, 2.0]]
    players.move_to(torch.tensor([3.0], dtype=torch.float64), torch.tensor([-4.0], dtype=torch.float64))
    assert (players.x.item(), players.y.item()) == (3.0, -4.0)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match=r"history_weight must be >= 0 \(got -1"):
        Players(BilinearGame(), [(0.0, 0.0)], history_weight=-1.0)
    with pytest.raises(ValueError, match=r"history_weight must be >= 0 \(got nan"):
        Players(BilinearGame(), [(0.0, 0.0)], history_weight=float("nan"))
    with pytest.raises(ValueError, match=r"expected starts of shape \[B, 2\] with B >= 1 \(got \(2,\)\)"):
        Players(BilinearGame(), (0.0, 0.0))
