"""``improved-gan runs [FOLDER]``: the runs under a folder, with their status and last test errors."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from improved_gan.errors import UserError
from improved_gan.runs.out_paths import path_argument
from improved_gan.runs.status import find_runs, run_status  # no torch until a run is found


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "runs",
        help="list the runs under a folder: running / finished / unfinished, FAILED, epochs, last test errors",
        description="Find the run folders under FOLDER (default runs/) and list each with its status "
        "(running: a process trains it now; finished; unfinished: continue it with `improved-gan resume "
        "RUN`; damaged: the reason), FAILED where D overpowered G (docs/stability.md), epochs done of "
        "planned, and its last test errors.",
    )
    p.add_argument("folder", type=path_argument, nargs="?", default=Path("runs"), help="where to look (default runs/)")
    p.add_argument("--json", action="store_true", help="one JSON object per run, one per line")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not args.folder.is_dir():
        raise UserError(f"{args.folder}: no such folder (name the folder that holds your runs)")
    statuses = [run_status(path) for path in find_runs(args.folder)]
    if args.json:
        for status in statuses:
            print(json.dumps(status.to_dict(), sort_keys=True))
        return 0
    if not statuses:
        print(f"no runs under {args.folder} (a run folder holds a config.json written by `improved-gan train`)")
        return 0
    rows = [("run", "status", "epochs", "preset", "dataset", "labels", "seed", "last test errors")]
    for s in statuses:
        if s.test_errors is not None and s.test_examples:
            errors = f"{s.test_errors}/{s.test_examples} ({100 * s.test_errors / s.test_examples:.2f}%)"
        else:
            errors = "-"
        if s.problem and s.status != "damaged":  # last.pt damaged, previous.pt sound
            errors += f"  ({s.problem})"
        if s.status == "damaged":
            rows.append((str(s.path), "damaged", "-", s.preset or "-", s.dataset or "-", "-", "-", s.problem))
            continue
        if s.failure:
            errors += f"  ({s.failure})"
        status = f"FAILED, {s.status}" if s.failure else s.status
        rows.append((str(s.path), status, f"{s.epochs_done}/{s.epochs}", s.preset, s.dataset, str(s.labels),
                     str(s.seed), errors))  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    return 0
