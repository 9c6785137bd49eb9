"""Where historical averaging works: final distance over a grid of step sizes and weights.

One run per (step size, weight) cell, all from the same start for the same
number of steps. The heatmap shows the band of weights in which gradient
descent with historical averaging reaches the equilibrium, and what happens on
either side of it (too small a weight cannot stop the outward spiral of large
steps; too large a weight ties each player to its slow-moving mean).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure

from improved_gan.games.games import Game
from improved_gan.games.runner import Method, counted, run_lanes

if TYPE_CHECKING:
    from tqdm import tqdm

__all__ = ["SWEEP_LRS", "SWEEP_WEIGHTS", "sweep_history_weight", "plot_sweep", "format_sweep_table", "sweep_record"]

SWEEP_LRS = (0.01, 0.02, 0.05, 0.1, 0.2)  # the grid of ``improved-gan games --sweep``
SWEEP_WEIGHTS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0)


def sweep_history_weight(
    game: Game,
    *,
    rule: str,
    lrs: Sequence[float],
    weights: Sequence[float],
    steps: int,
    start: tuple[float, float] | None = None,
    bar: tqdm | None = None,
) -> np.ndarray:
    """Final distance to the equilibrium of ``rule`` with historical averaging, per cell.

    ``bar``: a progress bar told each weight's column as it runs and advanced by
    its ``len(lrs)`` cells (None: nothing shown).

    Returns:
        float64 array of shape ``[len(lrs), len(weights)]``; ``inf`` where the run diverged.
    """
    start = game.default_start if start is None else start
    distances = np.empty((len(lrs), len(weights)), dtype=np.float64)  # [lrs, weights]
    for j, weight in enumerate(weights):
        method = Method(rule, weight)
        with counted(bar, f"{game.name} sweep: {method.label}, {len(lrs)} step sizes", runs=len(lrs)):
            lanes = run_lanes(game, method, lrs=lrs, starts=[start] * len(lrs), steps=steps)
        distances[:, j] = [trajectory.final_distance for trajectory in lanes]
    return distances


def plot_sweep(
    distances: np.ndarray,
    *,
    lrs: Sequence[float],
    weights: Sequence[float],
    title: str,
) -> Figure:
    """Heatmap of ``log10`` final distance (``distances`` of shape ``[len(lrs), len(weights)]``).

    Each cell prints its distance; diverged cells (``inf``) are grey and say so.
    """
    if distances.shape != (len(lrs), len(weights)):
        raise ValueError(f"expected distances of shape {(len(lrs), len(weights))} (got {distances.shape})")
    figure = Figure(figsize=(1.3 * len(weights) + 2.5, 0.8 * len(lrs) + 1.8), layout="constrained")
    axes = figure.add_subplot()
    shown = np.ma.masked_invalid(np.log10(np.maximum(distances, 1e-17)))  # inf (diverged) -> masked
    image = axes.imshow(shown, cmap=colormaps["viridis"].with_extremes(bad="lightgrey"), aspect="auto", origin="lower")
    figure.colorbar(image, ax=axes, label="log10 final distance")
    axes.set_xticks(range(len(weights)), [f"{w:g}" for w in weights])
    axes.set_yticks(range(len(lrs)), [f"{lr:g}" for lr in lrs])
    axes.set_xlabel("historical-averaging weight w")
    axes.set_ylabel("step size lr")
    axes.set_title(title, fontsize=10)
    for i in range(len(lrs)):
        for j in range(len(weights)):
            value = distances[i, j]
            if not np.isfinite(value):
                axes.text(j, i, "diverged", ha="center", va="center", fontsize=8)
                continue
            bright = image.norm(shown[i, j]) > 0.6  # viridis is light at its top end
            axes.text(j, i, f"{value:.2g}", ha="center", va="center", fontsize=8, color="black" if bright else "white")
    return figure



def format_sweep_table(distances: np.ndarray, *, lrs: Sequence[float], weights: Sequence[float]) -> str:
    """The sweep as plain text: one row per step size, one column per weight."""
    header = ["lr \\ w", *(f"{w:g}" for w in weights)]
    rows = [[f"{lr:g}", *("diverged" if not np.isfinite(d) else f"{d:.2e}" for d in row)] for lr, row in zip(lrs, distances)]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    return "\n".join("  ".join(cell.rjust(width) for cell, width in zip(row, widths)) for row in (header, *rows))


def sweep_record(
    distances: np.ndarray, *, game: Game, rule: str, lrs: Sequence[float], weights: Sequence[float], steps: int
) -> dict[str, Any]:
    """The sweep as a JSON-ready record (a diverged cell is None)."""
    return {
        "game": game.name,
        "rule": rule,
        "steps": steps,
        "lrs": list(lrs),
        "weights": list(weights),
        "final_distance": [[d if math.isfinite(d) else None for d in row] for row in distances.tolist()],
    }
