"""``improved-gan report RUN [RUN ...]``: rewrite a run's report, or compare runs."""

from __future__ import annotations

import argparse
from pathlib import Path

from improved_gan.errors import UserError
from improved_gan.runs.guard import check_outside_runs, check_run_links
from improved_gan.runs.layout import CONFIG, REPORT
from improved_gan.runs.out_paths import check_writable, path_argument


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "report",
        help="write RUN/report.md, or a comparison of several runs",
        description="One RUN: rewrite RUN/report.md and its plots. Several: a comparison (FILE.md and FILE.png) "
        "with the last test errors, the config fields in which the runs differ, and the mean +- std over "
        "seeds of runs that differ only in their seed.",
    )
    p.add_argument("runs", type=path_argument, nargs="+", help="run folders")
    p.add_argument("--out", type=path_argument, help="comparison FILE.md for several runs (default comparison.md)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from improved_gan.runs.report import check_comparison_out, write_comparison, write_report  # the plots

    for run_dir in args.runs:
        if not (run_dir / CONFIG).is_file():
            raise UserError(f"{run_dir} is not a run folder (no {CONFIG})")
    if args.out is not None:
        check_outside_runs(args.out, instead="write the comparison outside it")  # a run holds only its trainer's files
        if args.out.is_dir():
            raise UserError(f"--out {args.out} is a folder; name the comparison file, e.g. {args.out / 'comparison.md'}")
        if args.out.suffix.lower() != ".md":
            raise UserError(f"--out names a markdown file ending in .md (got {args.out}); its plot goes beside it")
    _refuse_a_run_twice(args.runs)
    if len(args.runs) > 1 or args.out is not None:
        check_comparison_out(args.out or Path("comparison.md"))
        check_writable(args.out or Path("comparison.md"))
    if len(args.runs) == 1 and args.out is None:
        check_run_links(args.runs[0])  # report.md and its plots are written into the run
        check_writable(args.runs[0] / REPORT, "the run's report", instead="make the run folder writable")
        print(f"report: {write_report(args.runs[0])}")
    else:
        print(f"comparison: {write_comparison(args.runs, args.out or Path('comparison.md'))}")
    return 0


def _refuse_a_run_twice(runs: list[Path]) -> None:
    """The same run named twice (``a a``, ``a a/``, a link to it) would count twice in the mean +- std."""
    seen: dict[Path, Path] = {}
    for run_dir in runs:
        real = run_dir.resolve()
        if real in seen:
            raise UserError(f"{seen[real]} and {run_dir} are the same run; name each run once (nothing was written)")
        seen[real] = run_dir
