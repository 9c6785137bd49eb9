"""``improved-gan train``: run a preset, or resume a run."""

from __future__ import annotations

import argparse
from pathlib import Path

from improved_gan.config import apply_overrides, check_data_dir_given, parse_assignments
from improved_gan.experiments.presets import get_preset, preset_description, preset_names

# command-line flag -> config field, for the options users reach for most
_SHORTCUTS = {
    "dataset": "dataset",
    "data_dir": "data_dir",
    "labels": "labels",
    "seed": "seed",
    "epochs": "epochs",
    "batch_size": "batch_size",
    "lr": "lr",
    "iters_per_epoch": "iters_per_epoch",
    "device": "device",
    "precision": "precision",
}


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "train",
        help="train a preset (the paper's experiments) or resume a run",
        description="Train one of the paper's experiments. Run folders are self-describing and resumable.",
    )
    p.add_argument("preset", nargs="?", help=f"one of: {', '.join(preset_names())}")
    p.add_argument("--resume", metavar="RUN", type=Path, help="continue RUN from its last checkpoint")
    p.add_argument("--list", action="store_true", help="list the presets and exit")
    p.add_argument("--out", type=Path, help="run folder (default: runs/PRESET-DATASET-lLABELS-sSEED)")
    p.add_argument(
        "--overwrite", action="store_true",
        help="replace the run in --out (only a folder holding nothing but a run; checked first)",
    )
    p.add_argument("--dataset", help="mnist, mnist5k, cifar10, svhn")
    p.add_argument("--data-dir", help="folder holding mnist/, cifar10/, ... (else $IMPROVED_GAN_DATA)")
    p.add_argument("--labels", type=int, help="labeled examples, balanced over classes")
    p.add_argument("--seed", type=int)
    p.add_argument("--epochs", type=int, help="(with --resume: extend the run to this many epochs)")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--iters-per-epoch", type=int, help="steps per epoch (default: one pass over the data)")
    p.add_argument("--device", help="auto, cpu, cuda, cuda:N (also with --resume: continue there)")
    p.add_argument("--precision", choices=["auto", "fp32", "bf16"])
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="any config field")
    p.add_argument("--dry-run", action="store_true", help="check the config and the --out folder, print the resolved config, and exit")
    p.add_argument("--no-progress", action="store_true", help="no progress bars (logs still written)")
    p.add_argument(
        "--allow-step-change", action="store_true",
        help="with --resume: continue even if this machine would run another step kind or precision",
    )
    p.add_argument(
        "--allow-lr-change", action="store_true",
        help="with --resume: continue with the lr / lr_decay_* edited in the run's config.json",
    )
    p.set_defaults(func=run, continue_hint="continue with --resume")


def run(args: argparse.Namespace) -> int:
    """Parse, check, train; a file-system error is one line that says the last checkpoint is intact."""
    folder = args.resume if args.resume is not None else args.out
    try:
        return _run(args)
    except KeyboardInterrupt:
        from improved_gan.training.checkpoint import latest_checkpoint

        started = getattr(args, "run_folder", None)
        if started is not None and latest_checkpoint(started) is None:  # no epoch finished: nothing to resume
            args.interrupt_message = (f"interrupted before the first epoch of {started} finished, so there is no "
                                      "checkpoint to resume; run the same command again to start it over")
        raise
    except OSError as err:
        from improved_gan.errors import UserError

        from improved_gan.training.checkpoint import latest_checkpoint

        what = f"{err.strerror or err}" + (f": {err.filename}" if err.filename else "")
        if folder is not None and latest_checkpoint(folder) is not None:
            after = (f"the last checkpoint is intact (written atomically); fix this, then "
                     f"`improved-gan train --resume {folder}`")
        else:
            after = "files are written atomically, so any checkpoint is intact and none half-written; fix this and run again"
        raise UserError(f"cannot write the run: {what}; {after}") from None


def _join_job(device_name: str):
    """Under torchrun, join the process group (training/distributed.py); else the single-process context."""
    from improved_gan.training.distributed import init_from_environment

    return init_from_environment(device_name)


def _run(args: argparse.Namespace) -> int:
    try:
        return _run_command(args)
    finally:
        from improved_gan.training.distributed import shutdown

        shutdown()


def _run_command(args: argparse.Namespace) -> int:
    from improved_gan.errors import UserError

    if args.list:
        _refuse_with_list(args)
        for name in preset_names():
            print(f"{name:14s} {preset_description(name)}")
        return 0
    if args.resume is not None:
        if args.preset:
            raise UserError(_preset_with_resume(args.preset, args.resume))
        _refuse_flags_of_a_new_run(args)
        from improved_gan.training.trainer import resume

        if args.dry_run:
            raise UserError("--dry-run checks a new run's config; a resume has nothing to print")
        context = _join_job(args.device or _run_device(args.resume))
        if not context.is_main:  # rank 0 checks and prepares the folder; the Trainer waits for it
            from improved_gan.training.trainer import Trainer

            Trainer(args.resume, progress=False).train()
            return 0
        result = resume(
            args.resume, epochs=args.epochs, progress=not args.no_progress, allow_step_change=args.allow_step_change,
            allow_lr_change=args.allow_lr_change, device=args.device,
        )
        _summary(result)
        return 0
    if not args.preset:
        raise UserError(f"name a preset ({', '.join(preset_names())}) or --resume RUN")
    _refuse_resume_flags_without_resume(args)
    config = get_preset(args.preset)
    overrides = {field: getattr(args, flag) for flag, field in _SHORTCUTS.items() if getattr(args, flag) is not None}
    overrides.update(_assignments_beside_flags(args.set, overrides))
    config = apply_overrides(config, overrides)
    if config.mode == "gan" and "labels" not in overrides:
        config = apply_overrides(config, {"labels": 0})
    config = config.validate()
    check_data_dir_given(config.dataset, args.data_dir)
    out = args.out or Path("runs") / f"{config.preset}-{config.dataset}-l{config.labels}-s{config.seed}"
    if args.dry_run:
        import json

        from improved_gan.training.run_guard import check_run_folder

        check_run_folder(out, config, overwrite=args.overwrite)  # would the run be refused its folder?
        print(json.dumps(config.to_dict(), indent=2, sort_keys=True))
        return 0
    from improved_gan.training.trainer import Trainer, train

    context = _join_job(config.device)
    context.check_batch(config.batch_size)
    if not context.is_main:  # rank 0 checks and prepares the folder; the Trainer waits for it
        Trainer(out, progress=False).train()
        return 0

    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file, not a folder; choose a folder for the run")
    print(f"run folder: {out}")
    args.run_folder = out  # for the message after Ctrl-C
    result = train(config, out, overwrite=args.overwrite, progress=not args.no_progress)
    _summary(result)
    return 0


def _assignments_beside_flags(items: list[str], flags: dict) -> dict[str, str]:
    """``--set`` assignments; one naming a field that a flag sets too (``--lr 0.1 --set lr=0.2``) is refused,
    not quietly preferred."""
    from improved_gan.config import ConfigError

    assignments = parse_assignments(items)
    for key in assignments:
        field = key.replace("-", "_")
        if field in flags:
            flag = "--" + next(f for f, name in _SHORTCUTS.items() if name == field).replace("_", "-")
            raise ConfigError(f"{flag} {flags[field]} and --set {key}={assignments[key]} both set {field}; "
                              "give it once")
    return assignments


def _refuse_resume_flags_without_resume(args: argparse.Namespace) -> None:
    """``--allow-lr-change`` / ``--allow-step-change`` only mean something with --resume: not silently ignored."""
    from improved_gan.errors import UserError

    given = [flag for flag in ("allow_lr_change", "allow_step_change") if getattr(args, flag)]
    if given:
        flag = "--" + given[0].replace("_", "-")
        raise UserError(f"{flag} applies to `improved-gan train --resume RUN` only; a new run takes its settings "
                        "from the flags and --set (nothing was written)")


def _refuse_with_list(args: argparse.Namespace) -> None:
    """``train --list`` prints the presets; any other argument would be silently ignored."""
    from improved_gan.errors import UserError

    not_arguments = {"list", "set", "func", "command", "continue_hint"}
    given = [name for name, value in vars(args).items() if name not in not_arguments and value not in (None, False)]
    given += ["set"] if args.set else []
    if given:
        shown = ", ".join(name if name == "preset" else "--" + name.replace("_", "-") for name in given)
        raise UserError(f"--list prints the presets and takes nothing else (got {shown}); "
                        "run `improved-gan train --list` alone")


# flags that describe a new run, with what to do instead under --resume (which keeps the run's config.json)
_EDIT_CONFIG = "edit {field!r} in {run}/config.json (where and how a run trains may change between sessions)"
_NEW_RUN = "that would be another run: start it with `improved-gan train PRESET ... --out NEW`"
_NOT_WITH_RESUME = {
    "out": "--resume {run} writes into {run} itself",
    "overwrite": "--resume continues the run; to replace it: `improved-gan train PRESET --out {run} --overwrite`",
    "lr": "edit 'lr' in {run}/config.json and add --allow-lr-change",
    "data_dir": _EDIT_CONFIG,
    "precision": _EDIT_CONFIG,
    **{flag: _NEW_RUN for flag in ("dataset", "labels", "seed", "batch_size", "iters_per_epoch", "set")},
}


def _refuse_flags_of_a_new_run(args: argparse.Namespace) -> None:
    """``--resume RUN --lr 0.1`` would otherwise train on with the old lr and say nothing: refused, one line."""
    from improved_gan.errors import UserError

    given = [flag for flag in _NOT_WITH_RESUME if getattr(args, flag) not in (None, False, [])]
    if given:
        names = ", ".join("--" + flag.replace("_", "-") for flag in given)
        advice = _NOT_WITH_RESUME[given[0]].format(run=args.resume, field=given[0])
        raise UserError(f"--resume continues {args.resume} with its own config.json, so {names} "
                        f"{'does' if len(given) == 1 else 'do'} not apply: {advice}; nothing was changed")


def _preset_with_resume(preset: str, run_dir: Path) -> str:
    """Why ``train PRESET --resume RUN`` is refused: a run continues its own preset, named in its config.json."""
    from improved_gan.config import load_config
    from improved_gan.errors import ConfigError

    try:
        held = load_config(run_dir / "config.json").preset
    except ConfigError:
        return "give either a PRESET or --resume RUN, not both"
    if held == preset:
        return (f"{run_dir} is a run of {preset} already: continue it with `improved-gan train --resume {run_dir}` "
                "(no PRESET: its config.json holds the rest)")
    return (f"{run_dir} is a run of preset {held}, not {preset}: continue it with `improved-gan train --resume "
            f"{run_dir}` (its own preset), or start {preset} in a new folder with `improved-gan train {preset} "
            "--out NEW`; nothing was changed")


def _run_device(run_dir: Path) -> str:
    """The device a run folder's config asks for (``auto`` when it cannot be read: resume says why)."""
    from improved_gan.config import load_config
    from improved_gan.errors import ConfigError

    try:
        return load_config(run_dir / "config.json").device
    except ConfigError:
        return "auto"


def _summary(result) -> None:
    from improved_gan.training.run_dir import sample_grid_path

    m = result.metrics
    if "test_errors" in m:
        print(
            f"test errors: {m['test_errors']} / {m['test_examples']} "
            f"({100 * m['test_error_rate']:.2f}%) after {result.epoch} epochs, EMA discriminator"
        )
    print(f"sample grid: {sample_grid_path(result.run_dir, result.epoch)}")
    print(f"report:      {result.report}")
