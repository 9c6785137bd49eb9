"""The two toy games of Section 3 (Salimans et al., 2016).

Each game has two players. Player 1 controls a scalar ``x``, player 2 a
scalar ``y``, and each minimises its own cost. The value functions are pure
functions of tensors (so they are differentiable and testable on their own);
the game classes say which player pays which cost and where the equilibrium is.

Game 1, Section 3 (after Goodfellow et al., *Deep Learning*, 2016): player 1
minimises ``x * y`` over ``x``, player 2 minimises ``-x * y`` over ``y``. The
unique equilibrium is ``(0, 0)``.

Game 2, Section 3.3: the minimax game with value ``(f(x) - 1)(y - 1)``, where
``f(x) = x`` for ``x < 0`` and ``x**2`` otherwise. The paper does not say which
player minimises; we follow the ``min_x max_y`` convention (player 1 minimises
the value, player 2 maximises it), and :class:`KinkedGame` can swap the roles.
Either way the unique pure equilibrium is ``(1, 1)``:

- player 2's cost is linear in ``y`` with slope ``-(f(x) - 1)``, so player 2
  has a best response only where ``f(x) = 1``, i.e. at ``x = 1`` (``f`` is
  negative for ``x < 0``, and ``x**2 = 1`` has the one root ``x = 1`` in ``x >= 0``);
- player 1's cost is ``(f(x) - 1)(y - 1)``, and ``f`` is unbounded above and
  below, so player 1 has a best response only where ``y = 1``;
- at ``(1, 1)`` the value is 0 whatever either player does alone, so neither
  gains by moving: it is an equilibrium, and the only one.

Near ``(1, 1)`` the gradient field is a pure rotation (its Jacobian has
eigenvalues ``+-2i``), exactly like game 1 near ``(0, 0)``; this is why plain
gradient descent orbits instead of converging.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from improved_gan.errors import UserError

__all__ = [
    "Game",
    "BilinearGame",
    "KinkedGame",
    "bilinear_value",
    "kink",
    "kinked_value",
    "GAMES",
    "get_game",
]


def bilinear_value(x: Tensor, y: Tensor) -> Tensor:
    """``x * y``: the cost that player 1 of game 1 minimises (player 2 minimises its negative)."""
    return x * y


def kink(x: Tensor) -> Tensor:
    """``f(x) = x`` for ``x < 0``, ``x**2`` otherwise (Section 3.3).

    ``f`` is continuous but not differentiable at 0 (slopes 1 on the left, 0 on
    the right); autograd returns the right-hand slope, 0, at exactly ``x = 0``.
    """
    return torch.where(x < 0, x, x * x)


def kinked_value(x: Tensor, y: Tensor) -> Tensor:
    """``(f(x) - 1)(y - 1)``, the value of game 2 (Section 3.3)."""
    return (kink(x) - 1) * (y - 1)


class Game(abc.ABC):
    """A two-player game on the plane: player 1 controls ``x``, player 2 controls ``y``.

    Subclasses give a registry ``name``, a one-line ``title`` for plots, the
    pure ``equilibrium`` and a ``default_start`` for the runs of the docs.
    """

    name: ClassVar[str]
    title: ClassVar[str]
    equilibrium: ClassVar[tuple[float, float]]
    default_start: ClassVar[tuple[float, float]]

    @abc.abstractmethod
    def costs(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """Both players' costs at ``(x, y)``: ``(cost of player 1, cost of player 2)``.

        Shape:
            x, y: any shape, the same for both; each cost has that shape too.
        """


@dataclass(frozen=True)
class BilinearGame(Game):
    """Game 1: player 1 minimises ``xy`` over ``x``, player 2 minimises ``-xy`` over ``y``.

    Simultaneous gradient descent with step ``lr`` multiplies the distance to
    ``(0, 0)`` by ``sqrt(1 + lr**2)`` every step: it spirals outwards.
    """

    name: ClassVar[str] = "bilinear"
    title: ClassVar[str] = "game 1: x minimises xy, y minimises -xy"
    equilibrium: ClassVar[tuple[float, float]] = (0.0, 0.0)
    default_start: ClassVar[tuple[float, float]] = (1.0, 1.0)

    def costs(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        value = bilinear_value(x, y)
        return value, -value


@dataclass(frozen=True)
class KinkedGame(Game):
    """Game 2: the minimax game with value ``(f(x) - 1)(y - 1)`` (Section 3.3).

    Args:
        x_minimises: if True (default, the ``min_x max_y`` convention), player 1
            minimises the value and player 2 maximises it; if False, the roles
            are swapped. The equilibrium is ``(1, 1)`` either way.
    """

    name: ClassVar[str] = "kinked"
    title: ClassVar[str] = "game 2: minimax (f(x) - 1)(y - 1)"
    equilibrium: ClassVar[tuple[float, float]] = (1.0, 1.0)
    default_start: ClassVar[tuple[float, float]] = (-0.5, 2.0)

    x_minimises: bool = True

    def costs(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        value = kinked_value(x, y)
        return (value, -value) if self.x_minimises else (-value, value)


GAMES: dict[str, type[Game]] = {game.name: game for game in (BilinearGame, KinkedGame)}


def get_game(name: str) -> Game:
    """The game registered as ``name`` (``bilinear`` or ``kinked``)."""
    if name not in GAMES:
        raise UserError(f"unknown game {name!r}: choose one of {', '.join(GAMES)}")
    return GAMES[name]()
