r"""Update rules: how the two players of a toy game move, one step at a time.

From the paper (Section 3): simultaneous and alternating gradient descent. Each
of them takes the historical-averaging penalty (Section 3.3) through the
players' costs (:class:`~improved_gan.games.players.Players` with a positive
``history_weight``), so "with historical averaging" is not a separate rule.

Not from the paper, later remedies for the same rotation, shown beside it:

- extragradient (Korpelevich, 1976; for GANs Gidel et al., 2019): step along
  the gradient taken at a look-ahead point;
- optimistic gradient descent (Popov, 1980; for GANs Daskalakis et al., 2018):
  step along ``2 g_t - g_{t-1}``.

With ``z = (x, y)`` and ``g(z)`` the players' own gradients (the game's field):

.. math::

    \text{simultaneous:}\quad z_{t+1} = z_t - \eta\, g(z_t)

    \text{alternating:}\quad x_{t+1} = x_t - \eta\, g_x(x_t, y_t),\;
        y_{t+1} = y_t - \eta\, g_y(x_{t+1}, y_t)

    \text{extragradient:}\quad z_{t+1} = z_t - \eta\, g(z_t - \eta\, g(z_t))

    \text{optimistic:}\quad z_{t+1} = z_t - \eta\, (2 g(z_t) - g(z_{t-1}))
"""

from __future__ import annotations

import abc
from typing import ClassVar

import torch
from torch import Tensor

from improved_gan.errors import UserError
from improved_gan.games.players import Players

__all__ = [
    "UpdateRule",
    "SimultaneousGD",
    "AlternatingGD",
    "Extragradient",
    "OptimisticGD",
    "RULES",
    "make_rule",
]


class UpdateRule(abc.ABC):
    """One way of moving both players by one step of size ``lr``.

    Subclasses give a registry ``name``, a plot ``label`` and ``from_paper``
    (False marks a remedy that the paper does not use). A rule may keep state
    between steps (optimistic GD keeps the last gradient): use a fresh rule per run.

    Args:
        lr: step size, a positive float, or a ``[B]`` tensor with one step size
            per lane of the :class:`~improved_gan.games.players.Players` it moves.
    """

    name: ClassVar[str]
    label: ClassVar[str]
    from_paper: ClassVar[bool]

    def __init__(self, *, lr: float | Tensor) -> None:
        if not bool(torch.all(torch.as_tensor(lr) > 0)):
            raise ValueError(f"lr must be > 0 (got {lr})")
        self.lr = lr

    @abc.abstractmethod
    def step(self, players: Players) -> None:
        """Move ``players`` from ``z_t`` to ``z_{t+1}`` in place."""

    def extra_repr(self) -> str:
        return f"lr={self.lr}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"


class SimultaneousGD(UpdateRule):
    """Both players step along their own negative gradient at the same point (Section 3)."""

    name: ClassVar[str] = "simultaneous"
    label: ClassVar[str] = "simultaneous GD"
    from_paper: ClassVar[bool] = True

    def step(self, players: Players) -> None:
        x, y = players.position()
        grad_x, grad_y = players.gradient()
        players.move_to(x - self.lr * grad_x, y - self.lr * grad_y)


class AlternatingGD(UpdateRule):
    """Player 1 steps first; player 2 then steps against player 1's new ``x``."""

    name: ClassVar[str] = "alternating"
    label: ClassVar[str] = "alternating GD"
    from_paper: ClassVar[bool] = True

    def step(self, players: Players) -> None:
        x, y = players.position()
        x = x - self.lr * players.gradient_x()
        players.move_to(x, y)
        players.move_to(x, y - self.lr * players.gradient_y())


class Extragradient(UpdateRule):
    """Step from ``z_t`` along the field taken at the look-ahead ``z_t - lr g(z_t)``. Not in the paper."""

    name: ClassVar[str] = "extragradient"
    label: ClassVar[str] = "extragradient (not in paper)"
    from_paper: ClassVar[bool] = False

    def step(self, players: Players) -> None:
        x, y = players.position()
        grad_x, grad_y = players.gradient()
        players.move_to(x - self.lr * grad_x, y - self.lr * grad_y)
        grad_x, grad_y = players.gradient()  # at the look-ahead point
        players.move_to(x - self.lr * grad_x, y - self.lr * grad_y)


class OptimisticGD(UpdateRule):
    """Step along ``2 g(z_t) - g(z_{t-1})``; the first step is plain GD. Not in the paper."""

    name: ClassVar[str] = "optimistic"
    label: ClassVar[str] = "optimistic GD (not in paper)"
    from_paper: ClassVar[bool] = False

    def __init__(self, *, lr: float | Tensor) -> None:
        super().__init__(lr=lr)
        self.previous_gradient: tuple[Tensor, Tensor] | None = None

    def step(self, players: Players) -> None:
        x, y = players.position()
        grad_x, grad_y = players.gradient()
        previous_x, previous_y = self.previous_gradient or (grad_x, grad_y)
        players.move_to(x - self.lr * (2 * grad_x - previous_x), y - self.lr * (2 * grad_y - previous_y))
        self.previous_gradient = (grad_x, grad_y)


RULES: dict[str, type[UpdateRule]] = {
    rule.name: rule for rule in (SimultaneousGD, AlternatingGD, Extragradient, OptimisticGD)
}


def make_rule(name: str, *, lr: float | Tensor) -> UpdateRule:
    """A fresh update rule registered as ``name`` with step size ``lr`` (a float, or ``[B]`` per lane)."""
    if name not in RULES:
        raise UserError(f"unknown update rule {name!r}: choose one of {', '.join(RULES)}")
    return RULES[name](lr=lr)
