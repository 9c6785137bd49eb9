"""The experiment of docs/games.md: every method on each game, pictures, tables, a JSON record.

This is what ``improved-gan games`` calls; it knows nothing of the command line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
from tqdm.auto import tqdm

from improved_gan.games.games import Game, get_game
from improved_gan.games.plots import plot_distances, plot_trajectories, save_png
from improved_gan.games.runner import Method, Trajectory, counted, default_methods, run_game
from improved_gan.games.settings import GamesSettings
from improved_gan.games.sweep import (
    SWEEP_LRS,
    SWEEP_WEIGHTS,
    format_sweep_table,
    plot_sweep,
    sweep_history_weight,
    sweep_record,
)
from improved_gan.utils.atomic import atomic_write_json

if TYPE_CHECKING:
    from tqdm import tqdm

__all__ = [
    "GamesReport",
    "run_experiment",
    "compare_methods",
    "write_game_figures",
    "format_table",
    "result_rows",
]


def compare_methods(
    game: Game,
    methods: Sequence[Method],
    *,
    lr: float,
    steps: int,
    start: tuple[float, float] | None = None,
    bar: tqdm | None = None,
) -> list[Trajectory]:
    """Run every method on ``game`` from the same start with the same step size and count.

    ``bar``: a progress bar told each run (``"kinked: simultaneous GD"``) and
    advanced after it (None: nothing shown).
    """
    runs = []
    for method in methods:
        with counted(bar, f"{game.name}: {method.label}"):
            runs.append(run_game(game, method, lr=lr, steps=steps, start=start))
    return runs


def write_game_figures(out_dir: str | Path, game: Game, trajectories: Sequence[Trajectory]) -> list[Path]:
    """Write ``<game>-trajectories.png`` and ``<game>-distance.png`` into ``out_dir``; return their paths."""
    out_dir = Path(out_dir)
    first = trajectories[0]
    settings = f"lr={first.lr:g}, {first.steps} steps, start={tuple(float(v) for v in first.points[0])}"
    paths = [out_dir / f"{game.name}-trajectories.png", out_dir / f"{game.name}-distance.png"]
    save_png(plot_trajectories(trajectories, title=f"{game.title} ({settings})"), paths[0])
    save_png(plot_distances(trajectories, title=f"{game.title}\n{settings}"), paths[1])
    return paths


def result_rows(trajectories: Sequence[Trajectory]) -> list[dict[str, Any]]:
    """One JSON-ready record per run (a diverged run has ``final_distance`` None)."""
    return [
        {
            "game": t.game,
            "rule": t.method.rule,
            "history_weight": t.method.history_weight,
            "from_paper": t.method.from_paper,
            "lr": t.lr,
            "steps": t.steps,
            "start": [float(v) for v in t.points[0]],
            "equilibrium": list(t.equilibrium),
            "start_distance": t.start_distance,
            "final_distance": None if t.diverged else t.final_distance,
            "diverged_at": t.diverged_at,
        }
        for t in trajectories
    ]


def format_table(trajectories: Sequence[Trajectory]) -> str:
    """A plain-text table: game, method, start distance, final distance (or where it diverged)."""
    header = ("game", "method", "start dist", "final dist")
    rows = [
        (
            t.game,
            t.method.label,
            f"{t.start_distance:.4g}",
            f"diverged at step {t.diverged_at}" if t.diverged else f"{t.final_distance:.3e}",
        )
        for t in trajectories
    ]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in (header, *rows)]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


@dataclass(frozen=True)
class GamesReport:
    """What :func:`run_experiment` measured and wrote."""

    lr: float
    steps: int
    history_weight: float
    trajectories: list[Trajectory]
    sweep: np.ndarray | None  # [len(SWEEP_LRS), len(SWEEP_WEIGHTS)] final distances, or None
    written: list[Path]

    def summary(self) -> str:
        """The settings, the table of final distances and, with a sweep, its table."""
        parts = [
            f"lr={self.lr:g}, steps={self.steps}, historical-averaging weight={self.history_weight:g}",
            format_table(self.trajectories),
        ]
        if self.sweep is not None:
            parts += [
                f"\nsweep, game 2, simultaneous GD + HA: final distance after {self.steps} steps",
                format_sweep_table(self.sweep, lrs=SWEEP_LRS, weights=SWEEP_WEIGHTS),
            ]
        return "\n".join(parts)


def _sweep_kinked(
    path: Path, *, steps: int, start: tuple[float, float] | None, bar: tqdm | None
) -> tuple[np.ndarray, dict[str, Any]]:
    """Sweep simultaneous GD + HA on game 2 over ``SWEEP_LRS x SWEEP_WEIGHTS``; save its heatmap at ``path``.

    Returns the final distances and their JSON-ready record.
    """
    game = get_game("kinked")
    grid = {"lrs": SWEEP_LRS, "weights": SWEEP_WEIGHTS}
    distances = sweep_history_weight(game, rule="simultaneous", steps=steps, start=start, bar=bar, **grid)
    title = f"{game.title}: simultaneous GD + HA, distance after {steps} steps"
    save_png(plot_sweep(distances, title=title, **grid), path)
    return distances, sweep_record(distances, game=game, rule="simultaneous", steps=steps, **grid)


def run_experiment(out_dir: str | Path, settings: GamesSettings, *, progress: bool = False) -> GamesReport:
    """Run :func:`~improved_gan.games.runner.default_methods` on each game; write the figures and ``distances.json``.

    Args:
        out_dir: folder for ``<game>-trajectories.png``, ``<game>-distance.png``,
            ``kinked-sweep.png`` (with ``settings.sweep``) and ``distances.json``
            (:meth:`GamesSettings.outputs`).
        settings: the games, step size, updates per run, historical-averaging
            weight of the "+ HA" methods, start (each game's own if None), and
            whether to map simultaneous GD + HA on game 2 over ``SWEEP_LRS x SWEEP_WEIGHTS``.
        progress: a progress bar on stderr over the runs (one per game and
            method, one per cell of the sweep), naming the run at work.
    """
    lr, steps, start = settings.lr, settings.steps, settings.start
    out_dir = Path(out_dir)
    methods = default_methods(settings.history_weight)
    trajectories: list[Trajectory] = []
    written: list[Path] = []
    record: dict[str, Any] = {"lr": lr, "steps": steps, "history_weight": settings.history_weight}
    total = len(settings.games) * len(methods) + (len(SWEEP_LRS) * len(SWEEP_WEIGHTS) if settings.sweep else 0)
    with tqdm(total=total, desc="games", unit="run", disable=not progress, leave=False) as bar:
        for name in settings.games:
            game = get_game(name)
            runs = compare_methods(game, methods, lr=lr, steps=steps, start=start, bar=bar)
            written += write_game_figures(out_dir, game, runs)
            trajectories += runs
        distances = None
        if settings.sweep:
            distances, record["sweep"] = _sweep_kinked(out_dir / "kinked-sweep.png", steps=steps, start=start, bar=bar)
            written.append(out_dir / "kinked-sweep.png")
    record["runs"] = result_rows(trajectories)
    written.append(out_dir / "distances.json")
    atomic_write_json(written[-1], record)
    return GamesReport(lr, steps, settings.history_weight, trajectories, distances, written)
