"""Pictures of toy-game runs: paths in the (x, y) plane and distance to the equilibrium.

Figures are built with :class:`matplotlib.figure.Figure` directly (no pyplot,
no global state, no display needed) and saved as PNG through an atomic write.
Rules that the paper does not use are drawn dashed and say so in their label.
"""

from __future__ import annotations

import io
import os
from typing import Sequence

import numpy as np
from matplotlib.figure import Figure

from improved_gan.games.runner import Trajectory
from improved_gan.utils.atomic import atomic_write_bytes

__all__ = ["plot_trajectories", "plot_distances", "save_png"]

_SMALLEST_SHOWN = 1e-17  # distances below this (exact hits) are drawn at this floor on the log axis


def _outcome(trajectory: Trajectory) -> str:
    if trajectory.diverged:
        return f"diverged at step {trajectory.diverged_at}"
    return f"distance {trajectory.final_distance:.3g} after {trajectory.steps} steps"


def plot_trajectories(trajectories: Sequence[Trajectory], *, title: str, columns: int = 3) -> Figure:
    """One panel per run: its path in the (x, y) plane, start, end and the equilibrium.

    All panels share one window, centred on the equilibrium and wide enough for
    three times the start distance; a run that leaves it is cut at the edge and
    its panel says where it diverged.
    """
    if not trajectories:
        raise ValueError("expected at least one trajectory to plot (got none)")
    rows = -(-len(trajectories) // columns)
    figure = Figure(figsize=(4.2 * columns, 4.0 * rows), layout="constrained")
    figure.suptitle(title)
    equilibrium = np.asarray(trajectories[0].equilibrium)
    half_width = 1.5 * max(t.start_distance for t in trajectories) + 0.5
    for index, trajectory in enumerate(trajectories):
        axes = figure.add_subplot(rows, columns, index + 1)
        x, y = trajectory.points[:, 0], trajectory.points[:, 1]
        style = "-" if trajectory.method.from_paper else "--"
        axes.plot(x, y, style, linewidth=0.8, color="tab:blue")
        axes.plot(x[0], y[0], "o", color="tab:green", label="start")
        axes.plot(x[-1], y[-1], "s", color="tab:red", label="end")
        axes.plot(*equilibrium, "*", color="black", markersize=12, label="equilibrium")
        axes.set_xlim(equilibrium[0] - half_width, equilibrium[0] + half_width)
        axes.set_ylim(equilibrium[1] - half_width, equilibrium[1] + half_width)
        axes.set_aspect("equal")
        axes.set_xlabel("x (player 1)")
        axes.set_ylabel("y (player 2)")
        axes.set_title(f"{trajectory.method.label}\n{_outcome(trajectory)}", fontsize=9)
    figure.legend(*figure.axes[0].get_legend_handles_labels(), loc="outside lower center", ncols=3)
    return figure


def plot_distances(trajectories: Sequence[Trajectory], *, title: str) -> Figure:
    """Distance to the equilibrium over steps, all runs on one log-scale axis.

    A run that diverged ends with a cross at its last recorded step.
    """
    if not trajectories:
        raise ValueError("expected at least one trajectory to plot (got none)")
    figure = Figure(figsize=(8.0, 5.0), layout="constrained")
    axes = figure.add_subplot()
    for trajectory in trajectories:
        distances = np.maximum(trajectory.distances(), _SMALLEST_SHOWN)  # [n + 1]
        style = "-" if trajectory.method.from_paper else "--"
        label = trajectory.method.label + (f" (diverged at step {trajectory.diverged_at})" if trajectory.diverged else "")
        (line,) = axes.plot(np.arange(len(distances)), distances, style, linewidth=1.2, label=label)
        if trajectory.diverged:
            axes.plot(len(distances) - 1, distances[-1], "x", color=line.get_color(), markersize=9)
    axes.set_yscale("log")
    axes.set_xlabel("step")
    axes.set_ylabel("distance to equilibrium")
    axes.set_title(title)
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(fontsize=8)
    return figure


def save_png(figure: Figure, path: str | os.PathLike, *, dpi: int = 110) -> None:
    """Write ``figure`` to ``path`` as PNG, atomically."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    atomic_write_bytes(path, buffer.getvalue())
