"""``improved-gan ablate table3``: train Table 3's variants and score them beside the paper."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from improved_gan.cli.training import say_when_no_checkpoint_was_kept
from improved_gan.config import apply_overrides
from improved_gan.errors import UserError
from improved_gan.experiments.ablations import table3
from improved_gan.runs.out_rules import check_out_folder
from improved_gan.runs.out_paths import check_output_file, path_argument, starts_with


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "ablate",
        help="run Table 3's ablations (CIFAR-10 sample quality) and write a table beside the paper's",
        description="Train each Table 3 variant (resumable: finished runs are kept), score 50,000 samples of each "
        "with the Inception score, and write OUT/table3.md with the paper's numbers beside ours.",
    )
    p.add_argument("table", choices=["table3"])
    p.add_argument("--out", type=path_argument, default=Path("runs/table3"), help="folder for the runs and the table")
    p.add_argument("--data-dir", type=path_argument, help="folder holding cifar10/ (else $IMPROVED_GAN_DATA)")
    p.add_argument("--epochs", type=int, help="epochs per variant (default: the preset's 1,200)")
    p.add_argument("--iters-per-epoch", type=int)
    p.add_argument("--device", default="auto")
    p.add_argument("--n", type=int, default=50000, help="samples scored per variant (default 50,000, as the paper)")
    p.add_argument("--weights", type=path_argument,
                   help="Inception weights file (else $IMPROVED_GAN_INCEPTION_WEIGHTS)")
    p.add_argument("--only", action="append", default=[], metavar="ROW", help="run only these rows (repeatable)")
    p.add_argument("--dry-run", action="store_true", help="list the variants' configs and exit")
    p.set_defaults(func=run, continue_hint="run the same command again to continue its runs")


def run(args: argparse.Namespace) -> int:
    rows = table3(only=args.only)
    overrides = {k: v for k, v in {"data_dir": args.data_dir, "epochs": args.epochs,
                                   "iters_per_epoch": args.iters_per_epoch, "device": args.device}.items()
                 if v is not None}  # fmt: skip
    configs = {row.name: apply_overrides(row.config, overrides).validate() for row in rows if row.config}
    _check(args)  # --dry-run too: it said nothing of an --out or --n the real command refuses
    if args.dry_run:
        print(json.dumps({name: config.to_dict() for name, config in configs.items()}, indent=2, sort_keys=True))
        return 0
    from improved_gan.experiments.table3 import run_table
    from improved_gan.runs.out_lock import holding_out_folder

    try:
        with holding_out_folder(args.out):  # another command training there is refused before any run starts
            table = run_table(rows, configs, out=args.out, n=args.n, weights=args.weights, device=args.device)
    except KeyboardInterrupt:
        say_when_no_checkpoint_was_kept(args, [args.out / config.preset for config in configs.values()])
        raise
    print(f"table: {table}")
    return 0


def _check(args: argparse.Namespace) -> None:
    """--n, --weights, OUT's table3.md / table3.json (replaced only when an earlier table3.md is ours) and the
    device, before training."""
    if args.n < 10:
        raise UserError(f"--n must be at least 10 samples, the Inception score's 10 splits (got {args.n})")
    if args.weights is not None and not args.weights.is_file():  # --dry-run says it too, not only the run
        what = "is a folder" if args.weights.is_dir() else "does not exist"
        raise UserError(f"--weights {args.weights} {what}; name the Inception weights file")
    check_out_folder(args.out, instead="choose a folder for the table's runs outside it")
    ours = starts_with(args.out / "table3.md", "# Table 3: ")
    for name in ("table3.md", "table3.json"):
        check_output_file(args.out / name, ours=lambda path: ours, instead="choose a new or empty --out folder")
    from improved_gan.training.device import resolve_device  # torch: is the device on this machine?

    resolve_device(args.device)  # before the Inception weights are looked for, and in a dry run too
