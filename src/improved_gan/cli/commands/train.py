"""``improved-gan train PRESET``: start a new run (``improved-gan resume RUN`` continues one)."""

from __future__ import annotations

import argparse
import json
import typing
from pathlib import Path

from improved_gan.cli.training import join_job, print_summary, run_training
from improved_gan.config import FLAGS, ConfigError, apply_overrides, check_data_dir_given, parse_assignments, value_type
from improved_gan.errors import UserError
from improved_gan.experiments.presets import get_preset, preset_description, preset_names
from improved_gan.runs.guard import check_run_folder
from improved_gan.runs.out_paths import path_argument
from improved_gan.utils.progress import bars_shown

def register(subparsers) -> None:
    p = subparsers.add_parser(
        "train",
        help="train a preset (the paper's experiments)",
        description="Train one of the paper's experiments. Run folders are self-describing and resumable "
        "(`improved-gan resume RUN`).",
    )
    p.add_argument("preset", nargs="?", help=f"one of: {', '.join(preset_names())}")
    p.add_argument("--resume", type=path_argument, metavar="RUN",
                   help="an alias of `improved-gan resume RUN` (its flags only)")
    p.add_argument("--list", action="store_true", help="list the presets and exit")
    p.add_argument("--out", type=path_argument, help="run folder (default: runs/PRESET-DATASET-lLABELS-sSEED)")
    p.add_argument(
        "--overwrite", action="store_true",
        help="replace the run in --out (only a folder holding nothing but a run, not being trained; checked "
        "before anything is written, once the new run is built)",
    )
    for field, help in FLAGS.items():  # the config's shortcuts: --batch-size sets batch_size
        p.add_argument("--" + field.replace("_", "-"), help=help or None, **_value_kind(field))
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="any config field")
    p.add_argument("--dry-run", action="store_true", help="check the config and the --out folder, print the resolved config, and exit")
    p.add_argument("--no-progress", action="store_true", help="no progress bars (logs still written)")
    p.set_defaults(func=run, explain_flags=explain_flags)


def run(args: argparse.Namespace) -> int:
    if args.list:
        _refuse_with_list(args)
        for name in preset_names():
            print(f"{name:14s} {preset_description(name)}")
        return 0
    if not args.preset:
        raise UserError(f"name a preset ({', '.join(preset_names())}), or continue a run: `improved-gan resume RUN`")
    config = get_preset(args.preset)
    overrides = {field: getattr(args, field) for field in FLAGS if getattr(args, field) is not None}
    overrides.update(_assignments_beside_flags(args.set, overrides))
    config = apply_overrides(config, overrides).validate()
    check_data_dir_given(config.dataset, args.data_dir)
    out = args.out or Path("runs") / f"{config.preset}-{config.dataset}-l{config.labels}-s{config.seed}"
    if args.dry_run:
        check_run_folder(out, config, overwrite=args.overwrite)  # would the run be refused its folder?
        from improved_gan.training.device import resolve_device  # torch: is the device on this machine?

        resolve_device(config.device)  # a run would refuse a device this machine lacks: so does its dry run
        print(json.dumps(config.to_dict(), indent=2, sort_keys=True))
        return 0
    return run_training(args, out, lambda: _train(args, config, out))


def _train(args: argparse.Namespace, config, out: Path) -> int:
    from improved_gan.training.device import resolve_device  # torch: off the start-up path of other commands
    from improved_gan.training.trainer import Trainer, train

    resolve_device(config.device)  # a device this machine lacks is said before the run folder is named
    context = join_job(config.device)
    context.check_batch(config.batch_size)
    if not context.is_main:  # the same run, built from the same config; rank 0 alone writes the folder
        Trainer(out, config=config, progress=False).train()
        return 0
    print(f"run folder: {out}")
    args.run_folder = out  # for the message after Ctrl-C
    print_summary(train(config, out, overwrite=args.overwrite, progress=bars_shown(not args.no_progress)))
    return 0


def _value_kind(field: str) -> dict:
    """argparse's ``type`` or ``choices`` for a config field's flag, from the field's declared type."""
    kind = value_type(field)
    if typing.get_origin(kind) is typing.Literal:
        return {"choices": typing.get_args(kind)}
    if field == "data_dir":
        return {"type": path_argument}  # a folder: never empty (apply_overrides takes its text)
    return {"type": kind} if kind in (int, float) else {}


def _assignments_beside_flags(items: list[str], flags: dict) -> dict[str, str]:
    """``--set`` assignments; one naming a field that a flag sets too (``--lr 0.1 --set lr=0.2``) is refused,
    not quietly preferred."""
    assignments = parse_assignments(items)
    for key in assignments:
        field = key.replace("-", "_")
        if field in flags:
            raise ConfigError(f"--{field.replace('_', '-')} {flags[field]} and --set {key}={assignments[key]} both set {field}; "
                              "give it once")
    return assignments


def _refuse_with_list(args: argparse.Namespace) -> None:
    """``train --list`` prints the presets; any other argument would be silently ignored."""
    not_arguments = {"list", "set", "func", "command", "explain_flags"}
    given = [name for name, value in vars(args).items() if name not in not_arguments and value not in (None, False)]
    given += ["set"] if args.set else []
    if given:
        shown = ", ".join(name if name == "preset" else "--" + name.replace("_", "-") for name in given)
        raise UserError(f"--list prints the presets and takes nothing else (got {shown}); "
                        "run `improved-gan train --list` alone")


def explain_flags(args: argparse.Namespace, extras: list[str]) -> str | None:
    """``--allow-lr-change`` / ``--allow-step-change`` are consents of a resume: said so, not just unrecognised."""
    flags = [arg for arg in extras if arg in ("--allow-lr-change", "--allow-step-change")]
    if not flags:
        return None
    return (f"{flags[0]} applies to `improved-gan resume RUN` only; a new run takes its settings from the flags "
            "and --set (nothing was written)")
