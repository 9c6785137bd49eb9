"""``improved-gan resume RUN``: continue a run from its last checkpoint (``train --resume RUN`` is an alias).

A resume keeps the run's own ``config.json``: its parser takes only what may change between sessions
(``--epochs``, ``--device``, the ``--allow-*`` consents), so argparse itself refuses a flag of a new run;
:func:`explain_flags` adds what to do instead (edit ``config.json``, or start another run).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from improved_gan.cli.training import join_job, print_summary, run_training
from improved_gan.config import check_device_flag, load_config
from improved_gan.errors import ConfigError
from improved_gan.runs.guard import check_resumable
from improved_gan.runs.out_paths import path_argument
from improved_gan.utils.progress import bars_shown

_EDIT_CONFIG = "edit {field!r} in {run}/config.json (where and how a run trains may change between sessions)"
_NEW_RUN = "that would be another run: start it with `improved-gan train PRESET ... --out NEW`"
NEW_RUN_FLAGS = {
    "--out": "`improved-gan resume {run}` writes into {run} itself",
    "--overwrite": "a resume continues the run; to replace it: `improved-gan train PRESET --out {run} --overwrite`",
    "--lr": "edit 'lr' in {run}/config.json and add --allow-lr-change",
    "--data-dir": _EDIT_CONFIG,
    "--precision": _EDIT_CONFIG,
    **{flag: _NEW_RUN for flag in ("--dataset", "--labels", "--seed", "--batch-size", "--iters-per-epoch", "--set")},
    "--dry-run": "--dry-run checks a new run's config; a resume has nothing to print",
    "--list": "`improved-gan train --list` lists the presets",
}
"""The flags of ``train`` that a resume does not take, with what to do instead (``{run}``, ``{field}``)."""


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "resume",
        help="continue a run from its last checkpoint",
        description="Continue RUN from its last checkpoint with its own config.json (`train --resume RUN` is an "
        "alias). Only where and how long it trains may change.",
    )
    add_arguments(p)
    p.set_defaults(func=run, explain_flags=explain_flags)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", type=path_argument, metavar="RUN", help="the run folder")
    p.add_argument("--epochs", type=int, help="extend the run to this many epochs")
    p.add_argument("--device", help="auto, cpu, cuda, cuda:N: continue there (what it computes does not change)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars (logs still written)")
    p.add_argument(
        "--allow-step-change", action="store_true",
        help="continue even if this machine would run another step kind or precision",
    )
    p.add_argument(
        "--allow-lr-change", action="store_true",
        help="continue with the lr / lr_decay_* edited in the run's config.json",
    )


ALIAS_NOTE = "note: `improved-gan train --resume RUN` is `improved-gan resume RUN`"


def alias(argv: list[str]) -> tuple[list[str], str | None]:
    """``train ... --resume RUN ...`` as ``resume RUN ...``, with :data:`ALIAS_NOTE` to say so; any other
    ``argv`` unchanged, with None."""
    if not argv or argv[0] != "train":
        return argv, None
    for i, arg in enumerate(argv):
        if arg.startswith("--resume="):
            run, rest = arg.partition("=")[2], argv[1:i] + argv[i + 1:]
        elif arg == "--resume" and i + 1 < len(argv):
            run, rest = argv[i + 1], argv[1:i] + argv[i + 2:]
        else:
            continue
        return ["resume", run, *rest], ALIAS_NOTE
    return argv, None


def explain_flags(args: argparse.Namespace, extras: list[str]) -> str | None:
    """One line for arguments a resume does not take: flags of a new run (:data:`NEW_RUN_FLAGS`) or a preset;
    None for anything else (argparse's own message)."""
    flags = {arg.partition("=")[0] for arg in extras if arg.startswith("--")}
    given = [flag for flag in NEW_RUN_FLAGS if flag in flags]
    if given:
        advice = NEW_RUN_FLAGS[given[0]].format(run=args.run, field=given[0].removeprefix("--").replace("-", "_"))
        return (f"a resume continues {args.run} with its own config.json, so {', '.join(given)} "
                f"{'does' if len(given) == 1 else 'do'} not apply: {advice}; nothing was changed")
    presets = [arg for arg in extras if not arg.startswith("-")]
    return _preset_given(presets[0], args.run) if presets and len(presets) == len(extras) else None


def _preset_given(preset: str, run_dir: Path) -> str:
    """Why ``resume RUN PRESET`` is refused: a run continues its own preset, named in its config.json."""
    try:
        held = load_config(run_dir / "config.json").preset
    except ConfigError:
        return "give either a PRESET (`improved-gan train PRESET`) or a run to resume, not both"
    if held == preset:
        return (f"{run_dir} is a run of {preset} already: continue it with `improved-gan resume {run_dir}` "
                "(no PRESET: its config.json holds the rest)")
    return (f"{run_dir} is a run of preset {held}, not {preset}: continue it with `improved-gan resume "
            f"{run_dir}` (its own preset), or start {preset} in a new folder with `improved-gan train {preset} "
            "--out NEW`; nothing was changed")


def run(args: argparse.Namespace) -> int:
    check_device_flag(args.device)
    check_resumable(args.run)  # the folder's checks, before torch (the checkpoint's are trainer.resume's)
    return run_training(args, args.run, lambda: _resume(args))


def _resume(args: argparse.Namespace) -> int:
    from improved_gan.runs.checkpoint import load_checkpoint  # torch: off the start-up path of other commands
    from improved_gan.training.trainer import Trainer, resume, resumed_config

    context = join_job(args.device or _run_device(args.run))
    if not context.is_main:  # the same run as rank 0 builds (it checks the folder, and alone writes it)
        config = resumed_config(load_config(args.run / "config.json"), epochs=args.epochs, device=args.device)
        state = load_checkpoint(args.run, on_fallback=lambda message: None)  # rank 0 says it
        Trainer(args.run, config=config, state=state, progress=False).train()
        return 0
    result = resume(
        args.run, epochs=args.epochs, progress=bars_shown(not args.no_progress),
        allow_step_change=args.allow_step_change,
        allow_lr_change=args.allow_lr_change, device=args.device,
    )
    print_summary(result)
    return 0


def _run_device(run_dir: Path) -> str:
    """The device a run folder's config asks for (``auto`` when it cannot be read: resume says why)."""
    try:
        return load_config(run_dir / "config.json").device
    except ConfigError:
        return "auto"
