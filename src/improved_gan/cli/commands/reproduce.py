"""``improved-gan reproduce table1``: every run of the paper's Table 1, the table beside the paper's."""

from __future__ import annotations

import argparse
from pathlib import Path

from improved_gan.cli.training import say_when_no_checkpoint_was_kept
from improved_gan.config import check_data_dir_given, parse_assignments
from improved_gan.errors import UserError
from improved_gan.runs.out_lock import holding_out_folder
from improved_gan.runs.out_paths import path_argument
from improved_gan.utils.progress import bars_shown


def seed_list(text: str) -> list[int]:
    """``"0-9"``, ``"0,3,5"`` or ``"0-4,7"`` -> a list of seeds."""
    seeds: list[int] = []
    for part in filter(None, text.split(",")):
        low, dash, high = part.partition("-")
        try:
            first, last = int(low), int(high) if dash else int(low)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected seeds like 0-9 or 0,3,5 (got {text!r})") from None
        if last < first:
            raise argparse.ArgumentTypeError(f"{part} is an empty range; write the lower seed first, e.g. "
                                             f"{high}-{low}")
        if len(seeds) + last - first + 1 > MAX_SEEDS:  # before the list is built: 0-100000000 would fill memory
            raise argparse.ArgumentTypeError(f"at most {MAX_SEEDS:,} seeds per label count (got {text!r}; the "
                                             "paper's Table 1 has 10)")
        seeds += range(first, last + 1)
    return seeds


MAX_SEEDS = 1000
"""The most seeds a reproduced table trains per label count (each is a run folder and hours of training)."""


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "reproduce",
        help="reproduce a table of the paper (Table 1: every label count and seed, with ensembles)",
        description="Train every (labels, seed) run of Table 1 (resumable: stop and run the same command again), "
        "then write OUT/table1.md beside the paper's numbers: mean +- std per label count, the ensemble of the "
        "seeds' models, the failed seeds, and a plot of every run's curve.",
    )
    p.add_argument("table", choices=["table1"])
    p.add_argument("--preset", default="mnist-fm", help="mnist-fm (as released), mnist-fm-paper (as at the paper) or mnist-fm-stable (the demo's)")
    p.add_argument("--labels", type=int, nargs="*", help="label counts (default: the paper's 20 50 100 200)")
    p.add_argument("--seeds", type=seed_list, default=list(range(10)), help="e.g. 0-9 (default) or 0,3,5")
    p.add_argument("--epochs", type=int, help="epochs per run (default: the preset's 300)")
    p.add_argument("--out", type=path_argument, default=Path("runs/table1"), help="folder for the runs and the table")
    p.add_argument("--data-dir", type=path_argument, help="folder holding mnist/ (else $IMPROVED_GAN_DATA)")
    p.add_argument("--dataset", help="mnist (default) or mnist5k (the bundled digits, for a quick look)")
    p.add_argument("--jobs", type=int, default=1, help="runs trained at once (each gets cores/jobs threads)")
    p.add_argument("--stack", type=int, metavar="S",
                   help="train S seeds of a label count as one computation (the stacked engine; docs/stacked.md)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="any config field, every run")
    p.add_argument("--dry-run", action="store_true", help="print the plan and the expected wall time, train nothing")
    p.add_argument("--report-only", action="store_true", help="write the table from the runs so far, train nothing")
    p.add_argument("--no-ensemble", action="store_true", help="skip the ensembles (they load every run's model)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run, continue_hint="run the same command again to continue every unfinished run")


def run(args: argparse.Namespace) -> int:
    # numpy (the dataset table); torch only inside the functions that train, cost or ensemble (table1's imports)
    from improved_gan.experiments import table1

    base = table1.base_config(args.preset)
    table1.check_jobs(args.jobs, stack=args.stack, seeds=len(args.seeds))  # before the plan: --dry-run says it too
    overrides = _overrides(args)
    labels = list(table1.LABEL_COUNTS) if args.labels is None else args.labels
    table1.check_table_out(args.out)  # before any run is planned or trained: a user's table1.md stays
    planned = table1.plan_table1(base, labels=labels, seeds=args.seeds, out=args.out, overrides=overrides)
    if args.dry_run:
        print(table1.describe_plan(planned, jobs=args.jobs))
        return 0
    if args.report_only:
        path = table1.write_table(table1.summarize(planned, ensemble=not args.no_ensemble), planned, args.out)
    else:
        progress = bars_shown(not args.no_progress)
        try:
            with holding_out_folder(args.out):  # another command training there is refused before any run starts
                if args.stack is not None:
                    table1.run_stacked(planned, stack=args.stack, out=args.out, progress=progress)
                else:
                    table1.run_table1(planned, jobs=args.jobs, progress=progress)
                path = table1.write_table(table1.summarize(planned, ensemble=not args.no_ensemble), planned,
                                          args.out)
        except KeyboardInterrupt:
            say_when_no_checkpoint_was_kept(args, [run.folder for run in planned])
            raise
    print(path.read_text())
    print(f"table: {path}")
    return 0


def _overrides(args: argparse.Namespace) -> dict[str, str]:
    """The --set assignments and the flags, as config overrides; a field given both ways is refused rather
    than silently replaced."""
    overrides = parse_assignments(args.set)
    flags = {"epochs": args.epochs, "data_dir": args.data_dir, "dataset": args.dataset}
    for key, value in flags.items():
        if value is not None and key in overrides:
            raise UserError(f"--{key.replace('_', '-')} {value} and --set {key}={overrides[key]} both set {key}; "
                            "give it once")
    overrides.update({k: v for k, v in flags.items() if v is not None})
    check_data_dir_given(overrides.get("dataset", "mnist"), args.data_dir)
    return overrides
