"""What the commands that train share: the torchrun job, a failed write or Ctrl-C said in one line, the summary.

:func:`run_training` runs a training body (a new run or a resume) inside the process group that
``torchrun`` set up (a single process otherwise) and turns what can stop it into one line: a file-system
error says whether the last checkpoint is intact and how to continue; Ctrl-C before the first checkpoint
says there is nothing to resume yet (:func:`say_when_no_checkpoint_was_kept` says it for the commands that
train several runs).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable, Sequence

from improved_gan.errors import UserError
from improved_gan.runs.layout import latest_checkpoint, sample_grid_path


def say_when_no_checkpoint_was_kept(args: argparse.Namespace, folders: Sequence[Path]) -> None:
    """On a stop of a command that trains several runs (``demo``, ``reproduce``, ``ablate``): when none of
    ``folders`` had finished an epoch, its stop line says so, not "the last checkpoint is kept" (its
    ``continue_hint``), which ``reproduce`` said with nothing kept (the eighth sweep)."""
    if not any(latest_checkpoint(folder) for folder in folders):
        which = "either run" if len(folders) == 2 else "any run"
        args.interrupt_message = (f"interrupted before {which} finished its first epoch, so no checkpoint was kept; "
                                  "run the same command again to start over")


def run_training(args: argparse.Namespace, folder: Path | None, body: Callable[[], int]) -> int:
    """``body()`` in the torchrun job; ``folder`` is the run it writes (for the messages)."""
    from improved_gan.training.distributed import shutdown  # torch: off the start-up path of other commands

    if folder is not None:
        args.continue_hint = f"continue with `improved-gan resume {folder}`"
    try:
        return body()
    except KeyboardInterrupt:
        started = getattr(args, "run_folder", None) or folder
        if started is not None and latest_checkpoint(started) is None:  # no epoch finished: nothing to resume
            if Path(started).exists():
                args.interrupt_message = (f"interrupted before the first epoch of {started} finished, so there is "
                                          "no checkpoint to resume; run the same command again to start it over")
            else:  # stopped while the run was built, before its folder was made ("run folder:" said where)
                args.interrupt_message = (f"interrupted before {started} was made: nothing was written; run the "
                                          "same command again to start the run")
        raise
    except OSError as err:
        what = f"{err.strerror or err}" + (f": {err.filename}" if err.filename else "")
        if folder is not None and latest_checkpoint(folder) is not None:
            after = f"the last checkpoint is intact (written atomically); fix this, then `improved-gan resume {folder}`"
        else:
            after = "files are written atomically, so any checkpoint is intact and none half-written; fix this and run again"
        raise UserError(f"cannot write the run: {what}; {after}") from None
    finally:
        shutdown()


def join_job(device_name: str):
    """Under torchrun, join the process group (training/distributed.py); else the single-process context."""
    from improved_gan.training.distributed import init_from_environment  # torch: see run_training

    return init_from_environment(device_name)


def print_summary(result) -> None:
    """The run's last test errors (semi-supervised), its last sample grid and its report."""
    m = result.metrics
    if "test_errors" in m:
        print(
            f"test errors: {m['test_errors']} / {m['test_examples']} "
            f"({100 * m['test_error_rate']:.2f}%) after {result.epoch} epochs, EMA discriminator"
        )
    print(f"sample grid: {sample_grid_path(result.run_dir, result.epoch)}")
    print(f"report:      {result.report}")
