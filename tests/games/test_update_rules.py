"""Update rules against closed forms (game 1) and a float64 NumPy loop written from the equations."""

from __future__ import annotations

import numpy as np
import pytest

from improved_gan.errors import UserError
from improved_gan.games import RULES, BilinearGame, KinkedGame, Method, make_rule, run_game


def _field(game_name: str, z: np.ndarray) -> np.ndarray:
    """Own gradients (dcost_x/dx, dcost_y/dy) by hand: game 1 (y, -x); game 2 (f'(x)(y-1), -(f(x)-1))."""
    x, y = z
    if game_name == "bilinear":
        return np.array([y, -x])
    f, df = (x, 1.0) if x < 0 else (x * x, 2 * x)
    return np.array([df * (y - 1), -(f - 1)])


def _reference_run(game_name, rule, *, lr, steps, start, weight=0.0):
    """The rules of rules.py, with historical averaging over theta[1..t] (start included), in NumPy."""
    z = np.array(start, dtype=np.float64)
    history = [z.copy()]
    previous = None
    points = [z.copy()]
    for _ in range(steps):
        mean = np.mean(history, axis=0)

        def g(p):
            return _field(game_name, p) + 2 * weight * (p - mean)

        if rule == "simultaneous":
            z = z - lr * g(z)
        elif rule == "alternating":
            z = np.array([z[0] - lr * g(z)[0], z[1]])
            z = np.array([z[0], z[1] - lr * g(z)[1]])
        elif rule == "extragradient":
            z = z - lr * g(z - lr * g(z))
        elif rule == "optimistic":
            gradient = g(z)
            z = z - lr * (2 * gradient - (gradient if previous is None else previous))
            previous = gradient
        history.append(z.copy())
        points.append(z.copy())
    return np.array(points)


@pytest.mark.parametrize("rule", list(RULES))
@pytest.mark.parametrize("weight", [0.0, 0.4])
@pytest.mark.parametrize(("game", "start"), [(BilinearGame(), (1.0, 0.5)), (KinkedGame(), (-0.5, 2.0))], ids=["g1", "g2"])
def test_rule_matches_numpy_reference(rule, weight, game, start):
    trajectory = run_game(game, Method(rule, weight), lr=0.07, steps=300, start=start)
    expected = _reference_run(game.name, rule, lr=0.07, steps=300, start=start, weight=weight)
    # float64, 300 steps of a few operations each in another order than the loop: round-off ~eps per step,
    # grown at most (1 + lr^2)^150 ~ 2x by game 1's spiral: ~1e-13 (1e-10 relative, atol near the origin);
    # a wrong rule or history term diverges by O(lr) within a step
    np.testing.assert_allclose(trajectory.points, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("lr", [0.01, 0.1, 0.3])
def test_simultaneous_gd_on_game_1_grows_by_sqrt_1_plus_lr2_every_step(lr):
    """z_{t+1} = [[1, -lr], [lr, 1]] z_t, a scaled rotation: |z_t| = |z_0| (1 + lr^2)^(t/2)."""
    distances = run_game(BilinearGame(), Method("simultaneous"), lr=lr, steps=200).distances()
    t = np.arange(201)
    # rtol 1e-12: 200 float64 rotations of 2 numbers, ~eps each (200 eps ~ 4e-14 at worst); the closed form's
    # pow is ~1 ulp; another growth factor errs by ~t lr^2 / 2 >= 1e-2 at t = 200
    np.testing.assert_allclose(distances, np.sqrt(2) * (1 + lr**2) ** (t / 2), rtol=1e-12)


@pytest.mark.parametrize("lr", [0.05, 0.2, 0.5])
def test_extragradient_on_game_1_shrinks_by_sqrt_1_minus_lr2_plus_lr4_every_step(lr):
    """z_{t+1} = (I - lr A + lr^2 A^2) z_t with A = [[0, 1], [-1, 0]]: |z_t| = |z_0| (1 - lr^2 + lr^4)^(t/2)."""
    distances = run_game(BilinearGame(), Method("extragradient"), lr=lr, steps=200).distances()
    t = np.arange(201)
    # rtol 1e-11: as above with two gradient evaluations per step (~1e-13 in all)
    np.testing.assert_allclose(distances, np.sqrt(2) * (1 - lr**2 + lr**4) ** (t / 2), rtol=1e-11)


def test_alternating_gd_on_game_1_keeps_x2_plus_y2_minus_lr_xy_fixed():
    """Alternating GD is symplectic Euler: x^2 + y^2 - lr*x*y is conserved exactly (so it orbits)."""
    lr = 0.1
    points = run_game(BilinearGame(), Method("alternating"), lr=lr, steps=2000).points
    invariant = points[:, 0] ** 2 + points[:, 1] ** 2 - lr * points[:, 0] * points[:, 1]
    # rtol 1e-11: 2000 float64 steps, each rounding the invariant by ~eps (2000 eps ~ 4e-13 at worst);
    # simultaneous GD would grow it by (1 + lr^2)^2000, alternating in the wrong order by O(lr)
    np.testing.assert_allclose(invariant, invariant[0], rtol=1e-11)


def test_only_the_remedies_are_marked_not_from_the_paper():
    assert {name for name, rule in RULES.items() if not rule.from_paper} == {"extragradient", "optimistic"}
    assert all("not in paper" in RULES[name].label for name in ("extragradient", "optimistic"))


def test_make_rule_checks_its_arguments():
    assert repr(make_rule("optimistic", lr=0.1)) == "OptimisticGD(lr=0.1)"
    with pytest.raises(UserError, match="unknown update rule 'adam': choose one of simultaneous, alternating"):
        make_rule("adam", lr=0.1)
    with pytest.raises(ValueError, match=r"lr must be > 0 \(got 0"):
        make_rule("simultaneous", lr=0.0)
