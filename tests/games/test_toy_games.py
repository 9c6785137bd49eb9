"""The two games of Section 3: values, costs, and the equilibria derived in games.py."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from improved_gan.errors import UserError
from improved_gan.games import GAMES, BilinearGame, KinkedGame, get_game
from improved_gan.games.games import bilinear_value, kink, kinked_value


def _f(x: float) -> float:
    return x if x < 0 else x * x


def _own_gradients(game, x: float, y: float) -> tuple[float, float]:
    """d(cost of player 1)/dx and d(cost of player 2)/dy by autograd at one point."""
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    yt = torch.tensor(y, dtype=torch.float64, requires_grad=True)
    cost_x, cost_y = game.costs(xt, yt)
    (gx,) = torch.autograd.grad(cost_x, xt, retain_graph=True)
    (gy,) = torch.autograd.grad(cost_y, yt)
    return float(gx), float(gy)


def test_kink_is_x_left_of_zero_and_x_squared_right_of_it():
    xs = np.array([-3.0, -0.5, -1e-9, 0.0, 1e-9, 0.5, 1.0, 2.5])
    got = kink(torch.tensor(xs, dtype=torch.float64)).numpy()
    np.testing.assert_array_equal(got, [_f(x) for x in xs])


@pytest.mark.parametrize(("x", "slope"), [(-2.0, 1.0), (-1e-6, 1.0), (0.0, 0.0), (0.3, 0.6), (1.0, 2.0)])
def test_kink_slope_is_one_on_the_left_and_2x_on_the_right_including_zero(x, slope):
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(kink(xt), xt)
    assert float(grad) == pytest.approx(slope, abs=1e-12)  # 1 or 2x in float64: exact; the wrong side's is >= 0.4 off


def test_values_match_their_formulas():
    rng = np.random.default_rng(0)
    x, y = rng.uniform(-3, 3, size=(2, 50))
    xt, yt = torch.tensor(x), torch.tensor(y)
    # float64, the same correctly rounded operations as the formulas (x y; (f(x) - 1)(y - 1)): a few ulp apart
    # at most (1e-15, 1e-14 for the three-operation one); another branch of f or a sign is O(1) off
    np.testing.assert_allclose(bilinear_value(xt, yt).numpy(), x * y, rtol=1e-15)
    expected = np.array([(_f(a) - 1) * (b - 1) for a, b in zip(x, y)])
    np.testing.assert_allclose(kinked_value(xt, yt).numpy(), expected, rtol=1e-14)


@pytest.mark.parametrize("game", [BilinearGame(), KinkedGame(), KinkedGame(x_minimises=False)], ids=repr)
def test_games_are_zero_sum(game):
    x, y = torch.randn(2, 20, dtype=torch.float64)
    cost_x, cost_y = game.costs(x, y)
    torch.testing.assert_close(cost_x, -cost_y, rtol=0, atol=0)


def test_kinked_game_roles():
    x, y = torch.tensor(2.0, dtype=torch.float64), torch.tensor(3.0, dtype=torch.float64)
    value = (4.0 - 1.0) * (3.0 - 1.0)
    assert [float(c) for c in KinkedGame().costs(x, y)] == [value, -value]
    assert [float(c) for c in KinkedGame(x_minimises=False).costs(x, y)] == [-value, value]


@pytest.mark.parametrize("game", [BilinearGame(), KinkedGame(), KinkedGame(x_minimises=False)], ids=repr)
def test_no_player_gains_by_leaving_the_equilibrium_alone(game):
    """Nash: each player's cost along its own axis never drops below its value at the equilibrium."""
    ex, ey = game.equilibrium
    deviations = torch.linspace(-5, 5, 1001, dtype=torch.float64)
    at_equilibrium_x, at_equilibrium_y = game.costs(
        torch.tensor(ex, dtype=torch.float64), torch.tensor(ey, dtype=torch.float64)
    )
    cost_x, _ = game.costs(ex + deviations, torch.full_like(deviations, ey))
    _, cost_y = game.costs(torch.full_like(deviations, ex), ey + deviations)
    # 1e-15: float64 costs at the equilibrium (values 0 or 1 exactly) and along an axis, a few ulp of O(1)
    # values; a profitable deviation would lower a cost by O(its size) on the grid's 0.01 steps
    assert bool((cost_x >= at_equilibrium_x - 1e-15).all())
    assert bool((cost_y >= at_equilibrium_y - 1e-15).all())


@pytest.mark.parametrize("game", [BilinearGame(), KinkedGame(), KinkedGame(x_minimises=False)], ids=repr)
def test_every_other_point_gives_some_player_a_descent_direction(game):
    """Uniqueness: away from the equilibrium some player's own gradient is non-zero.

    (Both costs are linear in y, and in x on each side of the kink or away from
    x = 0, so a non-zero own gradient is a profitable move; at x = 0 exactly,
    player 2's gradient is -(f(0) - 1) = 1 for game 2.)
    """
    rng = np.random.default_rng(1)
    points = np.concatenate([rng.uniform(-3, 3, size=(300, 2)), [[0.0, 1.0], [1.0, 0.0], [0.0, 0.0], [-1.0, 1.0]]])
    for x, y in points:
        if np.allclose((x, y), game.equilibrium):
            continue
        gx, gy = _own_gradients(game, float(x), float(y))
        assert max(abs(gx), abs(gy)) > 1e-12, (x, y)  # round-off ~1e-16; zero only at the equilibrium
    assert _own_gradients(game, *game.equilibrium) == (0.0, 0.0)


@pytest.mark.parametrize(("game", "rate"), [(BilinearGame(), 1.0), (KinkedGame(), 2.0)], ids=["bilinear", "kinked"])
def test_field_is_a_pure_rotation_at_the_equilibrium(game, rate):
    """The Jacobian of (dcost_x/dx, dcost_y/dy) at the equilibrium has eigenvalues +-i*rate."""

    def own_gradients(point):
        x, y = point[0], point[1]
        cost_x, cost_y = game.costs(x, y)
        gx = torch.autograd.grad(cost_x, point, create_graph=True)[0][0]
        gy = torch.autograd.grad(cost_y, point, create_graph=True)[0][1]
        return torch.stack([gx, gy])

    point = torch.tensor(game.equilibrium, dtype=torch.float64, requires_grad=True)
    jacobian = torch.autograd.functional.jacobian(own_gradients, point)
    eigenvalues = np.sort_complex(np.linalg.eigvals(jacobian.numpy()))
    # atol 1e-12: the Jacobian's entries are small integers computed exactly by autograd, and a 2x2 eigen-
    # solve is within a few eps of them; another rotation rate is >= 1 off
    np.testing.assert_allclose(eigenvalues, [-1j * rate, 1j * rate], atol=1e-12)


def test_registry_and_unknown_name():
    assert set(GAMES) == {"bilinear", "kinked"}
    assert isinstance(get_game("kinked"), KinkedGame)
    with pytest.raises(UserError, match="unknown game 'circle': choose one of bilinear, kinked"):
        get_game("circle")
