"""What one run of the games experiment is asked for, and the folder it may write: checked before any game runs.

:class:`GamesSettings` holds the choices of :func:`~improved_gan.games.experiment.run_experiment` (which
games, the step size, the number of updates, the historical-averaging weight, the start, the sweep) and
refuses, with one line each, values the runs cannot use: a path of more points than memory holds, a start
beyond the distance at which a run stops as diverged. :meth:`GamesSettings.check_out` refuses an output
folder whose files are not an earlier games output. Light to import (no torch, no matplotlib), so
``improved-gan games`` refuses a bad flag at once (docs/cli.md, Start-up).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from improved_gan.errors import UserError
from improved_gan.runs.out_paths import check_output_file
from improved_gan.runs.out_rules import check_out_folder

GAME_NAMES = ("bilinear", "kinked")
"""The games of Section 3, as :data:`~improved_gan.games.games.GAMES` names them: game 1 and game 2."""

MAX_STEPS = 1_000_000
"""The most updates per run (each keeps its path in memory: 16 bytes a point, per lane of the sweep)."""

MAX_START = 100_000.0
"""The largest start coordinate: a run stops as diverged 10**6 from the equilibrium, and the plots are
three start distances wide."""

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class GamesSettings:
    """The choices of one games experiment, checked when made (``UserError`` naming the flag).

    Args:
        games: names in :data:`GAME_NAMES` (default both).
        lr: step size of both players, finite and positive.
        steps: updates per run, 1 to :data:`MAX_STEPS`.
        history_weight: the weight ``w`` of the "+ HA" methods' ``w * ||theta - mean||^2`` (Section 3.3),
            finite and positive.
        start: the starting point ``(x, y)`` of every run, finite and within :data:`MAX_START` of the
            origin; None: each game's own.
        sweep: also map simultaneous GD + HA on game 2 over step sizes and weights.
    """

    games: tuple[str, ...] = GAME_NAMES
    lr: float = 0.05
    steps: int = 5000
    history_weight: float = 0.5
    start: tuple[float, float] | None = None
    sweep: bool = False

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise UserError(f"--steps must be a positive number of updates (got {self.steps})")
        if self.steps > MAX_STEPS:
            raise UserError(f"--steps must be at most {MAX_STEPS:,} (got {self.steps:,}): each run keeps every "
                            "point of its path in memory")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise UserError(f"--lr must be a positive step size (got {self.lr})")
        if not (math.isfinite(self.history_weight) and self.history_weight > 0):
            raise UserError(f"--weight must be positive: it is the historical-averaging weight "
                            f"(got {self.history_weight})")
        if self.start is not None and not all(math.isfinite(v) for v in self.start):
            raise UserError(f"--start must be two finite numbers X Y (got {self.start[0]} {self.start[1]})")
        if self.start is not None and max(abs(v) for v in self.start) > MAX_START:
            raise UserError(f"--start must lie within {MAX_START:,.0f} of the origin (got {self.start[0]:g} "
                            f"{self.start[1]:g}): a run stops as diverged 1,000,000 from the equilibrium")

    def outputs(self) -> list[str]:
        """The names of the files the experiment writes into its folder."""
        figures = [f"{game}-{kind}.png" for game in self.games for kind in ("trajectories", "distance")]
        return ["distances.json", *(["kinked-sweep.png"] if self.sweep else []), *figures]

    def check_out(self, out: Path) -> None:
        """``out`` may receive :meth:`outputs`: a folder (or none yet) outside every run, whose files of those
        names are an earlier games output (its distances.json says so; each PNG is one matplotlib wrote)."""
        check_out_folder(out, instead="write the games' output outside it")  # a file, a link to nothing, ...
        ours = _games_record(out / "distances.json")
        for name in self.outputs():
            check_output_file(out / name, ours=lambda path: ours and (path.suffix != ".png" or _games_png(path)),
                              instead="choose a new or empty --out folder")


def _games_record(path: Path) -> bool:
    """Whether ``path`` is a distances.json that the experiment wrote."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(record, dict) and {"lr", "steps", "history_weight", "runs"} <= set(record)


def _games_png(path: Path) -> bool:
    """Whether ``path`` is a PNG that matplotlib wrote (as the experiment does): a picture of the user's beside
    an earlier output is not replaced."""
    try:
        with open(path, "rb") as f:
            head = f.read(256)
    except OSError:
        return False
    return head.startswith(PNG_MAGIC) and b"Matplotlib" in head
