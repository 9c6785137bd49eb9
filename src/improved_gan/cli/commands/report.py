"""``improved-gan report RUN [RUN ...]``: rewrite a run's report, or compare runs."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser("report", help="write RUN/report.md, or a comparison of several runs")
    p.add_argument("runs", type=Path, nargs="+", help="run folders")
    p.add_argument("--out", type=Path, help="comparison file for several runs (default comparison.md)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from improved_gan.errors import UserError
    from improved_gan.training.report import write_comparison, write_report

    for run_dir in args.runs:
        if not (run_dir / "config.json").is_file():
            raise UserError(f"{run_dir} is not a run folder (no config.json)")
    if len(args.runs) == 1 and args.out is None:
        print(f"report: {write_report(args.runs[0])}")
    else:
        print(f"comparison: {write_comparison(args.runs, args.out or Path('comparison.md'))}")
    return 0
