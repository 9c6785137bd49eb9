"""``improved-gan games --out DIR``: the toy games of Section 3, drawn and measured.

For each game, every method (simultaneous and alternating GD, both with and
without historical averaging, and two later remedies marked "not in paper")
runs from the same start; the command writes ``<game>-trajectories.png``,
``<game>-distance.png`` and ``distances.json`` into DIR and prints the final
distances to the equilibrium. ``--sweep`` adds ``kinked-sweep.png``: the final
distance of simultaneous GD with historical averaging over a grid of step sizes
and weights. A progress bar on stderr names the run at work (``--no-progress``:
none), so stdout stays the table and the paths.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from improved_gan.errors import UserError
from improved_gan.runs.out_rules import check_out_folder
from improved_gan.runs.out_paths import check_output_file


MAX_STEPS = 1_000_000
"""The most updates per run (each keeps its path in memory: 16 bytes a point, per lane of the sweep)."""

MAX_START = 100_000.0
"""The largest ``--start`` coordinate: a run stops as diverged 10**6 from the equilibrium, and the plots are
three start distances wide."""

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def register(subparsers) -> None:
    p = subparsers.add_parser("games", help="Section 3 toy games: orbits of GD, historical averaging, remedies")
    p.add_argument("--out", required=True, help="folder for the PNGs and distances.json")
    p.add_argument("--game", choices=("all", "bilinear", "kinked"), default="all",
                   help="bilinear = game 1 (xy vs -xy), kinked = game 2 ((f(x)-1)(y-1)); default all")
    p.add_argument("--steps", type=int, default=5000, help="updates per run (default 5000)")
    p.add_argument("--lr", type=float, default=0.05, help="step size of both players (default 0.05)")
    p.add_argument("--weight", type=float, default=0.5,
                   help="historical-averaging weight w in w*||theta - mean||^2 (default 0.5)")
    p.add_argument("--start", type=float, nargs=2, metavar=("X", "Y"),
                   help="starting point (default: each game's own, (1, 1) and (-0.5, 2))")
    p.add_argument("--sweep", action="store_true",
                   help="also map the final distance of GD + HA on game 2 over 5 step sizes x 6 weights")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _check(args: argparse.Namespace) -> None:
    if args.steps < 1:
        raise UserError(f"--steps must be a positive number of updates (got {args.steps})")
    if args.steps > MAX_STEPS:
        raise UserError(f"--steps must be at most {MAX_STEPS:,} (got {args.steps:,}): each run keeps every point of "
                        "its path in memory")
    if not (math.isfinite(args.lr) and args.lr > 0):
        raise UserError(f"--lr must be a positive step size (got {args.lr})")
    if not (math.isfinite(args.weight) and args.weight > 0):
        raise UserError(f"--weight must be positive: it is the historical-averaging weight (got {args.weight})")
    if args.start is not None and not all(math.isfinite(v) for v in args.start):
        raise UserError(f"--start must be two finite numbers X Y (got {args.start[0]} {args.start[1]})")
    if args.start is not None and max(abs(v) for v in args.start) > MAX_START:
        raise UserError(f"--start must lie within {MAX_START:,.0f} of the origin (got {args.start[0]:g} "
                        f"{args.start[1]:g}): a run stops as diverged 1,000,000 from the equilibrium")
    if not args.out.strip():  # Path("") would be the working directory
        raise UserError("--out is empty; name a folder for the PNGs and distances.json")
    args.out = Path(args.out)
    if args.out.is_symlink() and not args.out.exists():
        raise UserError(f"--out {args.out} is a symbolic link to {args.out.readlink()}, which does not exist; "
                        "name a folder")
    if args.out.exists() and not args.out.is_dir():
        raise UserError(f"--out must be a folder (got the file {args.out})")
    check_out_folder(args.out, instead="write the games' output outside it")  # before the games' module (torch)
    _check_out(args.out, _games(args), sweep=args.sweep)


def _games(args: argparse.Namespace) -> list[str]:
    from improved_gan.games import GAMES

    return list(GAMES) if args.game == "all" else [args.game]


def _check_out(out: Path, games: list[str], *, sweep: bool) -> None:
    """The files this run writes into ``out`` (a folder that may be written: :func:`check_out_folder`) may replace
    only an earlier games output (its distances.json says so; each PNG must be one matplotlib wrote)."""
    names = ["distances.json", *(["kinked-sweep.png"] if sweep else [])] + [
        f"{g}-{kind}.png" for g in games for kind in ("trajectories", "distance")]
    ours = _games_record(out / "distances.json")
    for name in names:
        check_output_file(out / name, ours=lambda path: ours and (path.suffix != ".png" or _games_png(path)),
                          instead="choose a new or empty --out folder")


def _games_record(path: Path) -> bool:
    """Whether ``path`` is a distances.json that games wrote."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(record, dict) and {"lr", "steps", "history_weight", "runs"} <= set(record)


def _games_png(path: Path) -> bool:
    """Whether ``path`` is a PNG that matplotlib wrote (as games does): a picture of the user's beside an
    earlier output is not replaced."""
    try:
        with open(path, "rb") as f:
            head = f.read(256)
    except OSError:
        return False
    return head.startswith(PNG_MAGIC) and b"Matplotlib" in head


def run(args: argparse.Namespace) -> int:
    _check(args)
    from improved_gan.games.experiment import run_experiment  # torch, matplotlib: once the flags are checked

    report = run_experiment(
        args.out,
        _games(args),
        lr=args.lr,
        steps=args.steps,
        history_weight=args.weight,
        start=None if args.start is None else tuple(args.start),
        sweep=args.sweep,
        progress=not args.no_progress,
    )
    print(report.summary())
    for path in report.written:
        print(f"wrote {path}")
    return 0
