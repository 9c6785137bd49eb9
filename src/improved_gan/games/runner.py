"""Run an update rule on a toy game and record where the players go.

A run is deterministic: the same game, method, step size, step count and start
give the same trajectory, and the first ``n`` points of a long run are exactly
the run of ``n`` steps (the historical average only looks back).
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator, Sequence

import numpy as np
import torch

from improved_gan.errors import UserError
from improved_gan.games.games import Game
from improved_gan.games.players import Players
from improved_gan.games.rules import RULES, UpdateRule, make_rule

if TYPE_CHECKING:
    from tqdm import tqdm

__all__ = ["Method", "Trajectory", "run_game", "run_lanes", "default_methods", "counted"]


@dataclass(frozen=True)
class Method:
    """An update rule (a name in :data:`~improved_gan.games.rules.RULES`) and its historical-averaging weight."""

    rule: str
    history_weight: float = 0.0  # weight of ||theta - mean of past theta||^2 in each cost; 0 = off

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise UserError(f"unknown update rule {self.rule!r}: choose one of {', '.join(RULES)}")
        if not self.history_weight >= 0:
            raise UserError(f"the historical-averaging weight must be >= 0 (got {self.history_weight})")

    @property
    def from_paper(self) -> bool:
        return RULES[self.rule].from_paper

    @property
    def label(self) -> str:
        label = RULES[self.rule].label
        if self.history_weight > 0:
            label += f" + HA (w={self.history_weight:g})"
        return label


def default_methods(history_weight: float) -> list[Method]:
    """The comparison of the docs: both paper rules without and with historical averaging, then the two remedies."""
    return [
        Method("simultaneous"),
        Method("alternating"),
        Method("simultaneous", history_weight),
        Method("alternating", history_weight),
        Method("extragradient"),
        Method("optimistic"),
    ]


@dataclass(frozen=True)
class Trajectory:
    """The points a run visited, from the start to its last step.

    ``points`` has shape ``[n + 1, 2]`` (row ``t`` is ``(x_t, y_t)``), with
    ``n = steps`` unless the run escaped: then ``diverged_at`` is the first step
    whose point was not finite or lay farther than the escape radius from the
    equilibrium, and the points stop there.
    """

    game: str
    method: Method
    lr: float
    steps: int
    equilibrium: tuple[float, float]
    points: np.ndarray  # [n + 1, 2] float64
    diverged_at: int | None = None

    @property
    def diverged(self) -> bool:
        return self.diverged_at is not None

    def distances(self) -> np.ndarray:
        """Euclidean distance of every recorded point to the equilibrium, shape ``[n + 1]``."""
        return np.linalg.norm(self.points - np.asarray(self.equilibrium), axis=1)

    @property
    def start_distance(self) -> float:
        return float(self.distances()[0])

    @property
    def final_distance(self) -> float:
        """Distance after the last step; ``inf`` if the run diverged."""
        return math.inf if self.diverged else float(self.distances()[-1])


def run_lanes(
    game: Game,
    method: Method,
    *,
    lrs: Sequence[float],
    starts: Sequence[tuple[float, float]],
    steps: int,
    escape_radius: float = 1e6,
) -> list[Trajectory]:
    """Run ``method`` on ``game`` in independent lanes at once: lane ``b`` from ``starts[b]`` with step ``lrs[b]``.

    Each lane's trajectory is exactly the one :func:`run_game` gives for its
    start and step size alone; batching only saves the Python loop.

    Args:
        game: the game to play.
        method: update rule and historical-averaging weight (shared by all lanes).
        lrs: step size of both players, one per lane.
        starts: starting ``(x, y)``, one per lane.
        steps: number of updates.
        escape_radius: a lane stops as diverged once its distance to the
            equilibrium exceeds this or stops being finite; it then stays
            frozen at its last point, which the other lanes never see.

    Returns:
        one :class:`Trajectory` per lane, in lane order.
    """
    if steps < 0:
        raise ValueError(f"steps must be >= 0 (got {steps})")
    if len(lrs) != len(starts):
        raise ValueError(f"expected one step size per start (got {len(lrs)} step sizes, {len(starts)} starts)")
    players = Players(game, starts, history_weight=method.history_weight)
    rule = make_rule(method.rule, lr=torch.tensor(lrs, dtype=torch.float64))
    points, diverged_at, last_step = _play(players, rule, game.equilibrium, steps=steps, escape_radius=escape_radius)
    return [
        Trajectory(
            game=game.name,
            method=method,
            lr=float(lrs[lane]),
            steps=steps,
            equilibrium=game.equilibrium,
            points=points[: (last_step if diverged_at[lane] is None else diverged_at[lane] - 1) + 1, lane].copy(),
            diverged_at=diverged_at[lane],
        )
        for lane in range(players.lanes)
    ]


def _play(
    players: Players, rule: UpdateRule, equilibrium: tuple[float, float], *, steps: int, escape_radius: float
) -> tuple[np.ndarray, list[int | None], int]:
    """Step all lanes, each frozen once it escapes: points ``[steps + 1, B, 2]``, escape steps, the last step."""
    centre = torch.tensor(equilibrium, dtype=torch.float64)
    points = np.empty((steps + 1, players.lanes, 2), dtype=np.float64)  # [steps + 1, B, 2]
    last_good = players.point()  # [B, 2]
    points[0] = last_good.numpy()
    alive = torch.ones(players.lanes, dtype=torch.bool)  # [B]
    diverged_at: list[int | None] = [None] * players.lanes
    last_step = steps
    for t in range(1, steps + 1):
        rule.step(players)
        players.record()
        point = players.point()  # [B, 2]
        distance = torch.linalg.vector_norm(point - centre, dim=-1)  # [B]
        escaped = alive & ~(distance <= escape_radius)  # catches inf and nan too
        for lane in escaped.nonzero().flatten().tolist():
            diverged_at[lane] = t
        alive &= ~escaped
        if not bool(alive.all()):
            point = torch.where(alive[:, None], point, last_good)  # diverged lanes stay frozen
            players.move_to(point[:, 0], point[:, 1])
            if not bool(alive.any()):
                last_step = t - 1
                break
        last_good = point
        points[t] = point.numpy()
    return points, diverged_at, last_step


def run_game(
    game: Game,
    method: Method,
    *,
    lr: float,
    steps: int,
    start: tuple[float, float] | None = None,
    escape_radius: float = 1e6,
) -> Trajectory:
    """Run ``method`` on ``game`` for ``steps`` steps of size ``lr`` from ``start`` (one lane of :func:`run_lanes`).

    ``start`` defaults to the game's ``default_start``.
    """
    start = game.default_start if start is None else start
    (trajectory,) = run_lanes(game, method, lrs=[lr], starts=[start], steps=steps, escape_radius=escape_radius)
    return trajectory


@contextlib.contextmanager
def counted(bar: tqdm | None, label: str, runs: int = 1) -> Iterator[None]:
    """Show ``label`` on ``bar`` while the block runs, then count its ``runs`` runs done.

    ``bar`` is a progress bar (a ``tqdm``) or None, which shows nothing; the
    runs themselves never print.
    """
    if bar is not None:
        bar.set_description_str(label)  # refreshes: the bar names the run at work
    yield
    if bar is not None:
        bar.update(runs)
