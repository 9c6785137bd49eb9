"""The two players of a toy game: their parameters, their costs and their gradients.

Player 1's parameter ``x`` and player 2's ``y`` are float64
:class:`torch.nn.Parameter` vectors with one entry per *lane*: lanes are
independent runs (different starts, or different step sizes) advanced together,
so a grid of runs costs one Python loop. Each player's cost is the sum over
lanes of its cost in the game, so the gradient of that sum with respect to
lane ``b`` is lane ``b``'s own gradient, untouched by the other lanes.

With a positive ``history_weight`` each player's cost gains the
historical-averaging term of Section 3.3, ``history_weight * ||theta - mean of
past theta||**2``, from the project's own
:class:`~improved_gan.techniques.HistoricalAverage` (one per player: each
player averages only its own parameters; the squared norm is a sum over lanes,
so again each lane is pulled only towards its own mean).
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from improved_gan.games.games import Game
from improved_gan.techniques import HistoricalAverage

__all__ = ["Players"]


class Players:
    """Player 1 (``x``) and player 2 (``y``) of ``game`` in ``B`` lanes, started at ``starts``.

    Args:
        game: the game whose costs the players pay.
        starts: the starting point ``(x, y)`` of every lane.
        history_weight: weight of the historical-averaging penalty in each
            player's cost (Section 3.3); 0 (default) turns it off.
        device, dtype: where and how the parameters live (float64 by default,
            so that long runs measure the dynamics, not rounding).

    Shape:
        - starts: ``[B, 2]`` (a sequence of ``B`` pairs).
        - x, y, and every gradient: ``[B]``. :meth:`point`: ``[B, 2]``.
    """

    def __init__(
        self,
        game: Game,
        starts: Sequence[tuple[float, float]] | Tensor,
        *,
        history_weight: float = 0.0,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float64,
    ) -> None:
        if not history_weight >= 0:  # also refuses nan
            raise ValueError(f"history_weight must be >= 0 (got {history_weight})")
        starts = torch.as_tensor(starts, device=device, dtype=dtype)
        if starts.dim() != 2 or starts.shape[1] != 2 or starts.shape[0] == 0:
            raise ValueError(f"expected starts of shape [B, 2] with B >= 1 (got {tuple(starts.shape)})")
        self.game = game
        self.history_weight = history_weight
        self.x = nn.Parameter(starts[:, 0].clone())  # [B]
        self.y = nn.Parameter(starts[:, 1].clone())  # [B]
        self.history: tuple[HistoricalAverage, HistoricalAverage] | None = None
        if history_weight > 0:
            self.history = (
                HistoricalAverage([self.x], weight=history_weight),
                HistoricalAverage([self.y], weight=history_weight),
            )

    @property
    def lanes(self) -> int:
        return self.x.shape[0]

    def position(self) -> tuple[Tensor, Tensor]:
        """Detached copies of ``x`` and ``y``, each ``[B]``."""
        return self.x.detach().clone(), self.y.detach().clone()

    def point(self) -> Tensor:
        """The current points as one detached tensor, ``[B, 2]``."""
        return torch.stack([self.x.detach(), self.y.detach()], dim=-1)

    @torch.no_grad()
    def move_to(self, x: Tensor, y: Tensor) -> None:
        """Set the parameters to ``x`` and ``y`` (each ``[B]``)."""
        self.x.copy_(x)
        self.y.copy_(y)

    def record(self) -> None:
        """Fold the current ``(x, y)`` into the historical averages (no-op without them).

        Call it after every step. The averages start from the starting point, so
        the penalty at step ``t`` pulls towards the mean of ``theta[1..t]``: the
        start, every point since, and the current point itself (the paper's sum
        up to the present time; see :class:`~improved_gan.techniques.HistoricalAverage`).
        """
        if self.history is not None:
            for average in self.history:
                average.update()

    def costs(self) -> tuple[Tensor, Tensor]:
        """Each player's full cost, summed over lanes: the game's cost plus its penalty (two scalars)."""
        cost_x, cost_y = self.game.costs(self.x, self.y)  # [B], [B]
        cost_x, cost_y = cost_x.sum(), cost_y.sum()
        if self.history is not None:
            history_x, history_y = self.history
            cost_x = cost_x + history_x.penalty()  # history_weight * sum_b (x_b - mean x_b)^2
            cost_y = cost_y + history_y.penalty()
        return cost_x, cost_y

    def gradient_x(self) -> Tensor:
        """Player 1's own gradient d(cost of player 1)/dx at the current point, ``[B]``."""
        (grad,) = torch.autograd.grad(self.costs()[0], self.x)
        return grad

    def gradient_y(self) -> Tensor:
        """Player 2's own gradient d(cost of player 2)/dy at the current point, ``[B]``."""
        (grad,) = torch.autograd.grad(self.costs()[1], self.y)
        return grad

    def gradient(self) -> tuple[Tensor, Tensor]:
        """Both players' own gradients ``(dcost_x/dx, dcost_y/dy)``, each ``[B]``.

        This pair is the game's vector field: simultaneous gradient descent
        steps along its negative.
        """
        cost_x, cost_y = self.costs()
        (grad_x,) = torch.autograd.grad(cost_x, self.x, retain_graph=True)
        (grad_y,) = torch.autograd.grad(cost_y, self.y)
        return grad_x, grad_y
