"""``improved-gan eval RUN``: test error of the run's latest checkpoint (EMA discriminator)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os

from improved_gan.config import check_data_dir_given, check_device_flag, load_config
from improved_gan.runs.layout import CONFIG
from improved_gan.runs.out_paths import path_argument
from improved_gan.utils.progress import bars_shown


def register(subparsers) -> None:
    p = subparsers.add_parser("eval", help="test error of a run's latest checkpoint")
    p.add_argument("run", type=path_argument, help="run folder")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    p.add_argument("--data-dir", type=path_argument, help="override the run's data root")
    p.add_argument("--no-progress", action="store_true", help="no progress bars (there are none off a terminal)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    check_device_flag(args.device)
    config = load_config(args.run / CONFIG)
    if args.data_dir is not None:  # checked as a run's own data_dir would be
        check_data_dir_given(config.dataset, args.data_dir)
        dataclasses.replace(config, data_dir=os.fspath(args.data_dir)).validate()
    # torch: imported once the run's config and the flags are checked (docs/cli.md, Start-up)
    from improved_gan.training.device import resolve_device
    from improved_gan.training.evaluate import evaluate_run

    resolve_device(args.device)
    result = evaluate_run(args.run, device=args.device, data_dir=args.data_dir, progress=bars_shown(not args.no_progress))
    if args.json:
        print(json.dumps(result, sort_keys=True))
    else:
        print(
            f"{args.run}: epoch {result['epoch']}, test errors {result['test_errors']} / "
            f"{result['test_examples']} ({100 * result['test_error_rate']:.2f}%), EMA discriminator"
        )
    return 0
