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
from pathlib import Path

from improved_gan.games.settings import GAME_NAMES, GamesSettings
from improved_gan.runs.out_paths import path_argument
from improved_gan.utils.progress import bars_shown


def register(subparsers) -> None:
    p = subparsers.add_parser("games", help="Section 3 toy games: orbits of GD, historical averaging, remedies")
    p.add_argument("--out", type=path_argument, required=True, help="folder for the PNGs and distances.json")
    p.add_argument("--game", choices=("all", *GAME_NAMES), default="all",
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


def run(args: argparse.Namespace) -> int:
    settings = GamesSettings(  # its ranges, and then the folder, are checked before torch is imported
        games=GAME_NAMES if args.game == "all" else (args.game,), lr=args.lr, steps=args.steps,
        history_weight=args.weight, start=None if args.start is None else tuple(args.start), sweep=args.sweep,
    )
    out = Path(args.out)
    settings.check_out(out)
    from improved_gan.games.experiment import run_experiment  # torch, matplotlib: once the flags are checked

    report = run_experiment(out, settings, progress=bars_shown(not args.no_progress))
    print(report.summary())
    for path in report.written:
        print(f"wrote {path}")
    return 0
