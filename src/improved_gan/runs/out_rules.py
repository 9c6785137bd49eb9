"""Every output path of every command obeys one set of rules, checked before any work (docs/cli.md).

:func:`check_out_file` (a file a command writes) and :func:`check_out_folder` (a folder it makes or
fills) apply them all, each refusal one line: the kind of path and no file of the user's replaced, and
writable (:mod:`improved_gan.runs.out_paths`); not inside a run folder, which holds only what its
trainer writes (:func:`~improved_gan.runs.guard.check_outside_runs`). Light to import (no torch): a
command checks its ``--out`` before it imports torch (docs/cli.md, Start-up).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from improved_gan.runs.guard import check_outside_runs
from improved_gan.runs.out_paths import check_folder_path, check_output_file, check_writable

__all__ = ["check_out_file", "check_out_folder"]


def check_out_folder(path: str | os.PathLike, flag: str = "--out", *, instead: str = "choose a folder outside it",
                     run: bool = False) -> None:
    """Every rule (runs/out_paths.py and the run-folder rule) for a folder a command makes or fills; ``run``: the folder is a run itself
    (train's ``--out``), which may be an existing run but not lie inside one."""
    check_folder_path(path, flag)
    check_outside_runs(Path(path), flag=flag, instead=instead, itself=not run)
    check_writable(path, flag, folder=True)


def check_out_file(
    path: str | os.PathLike,
    flag: str = "--out",
    *,
    ours: Callable[[Path], bool] | None = None,
    what: str = "file",
    instead: str = "choose a new file name",
    outside: str = "write it outside the run",
) -> None:
    """Every rule (runs/out_paths.py and the run-folder rule) for a file a command writes; ``ours``, ``what``, ``instead`` as for
    :func:`check_output_file`, ``outside`` what to do instead of writing into a run folder."""
    check_output_file(path, flag, ours=ours, what=what, instead=instead)
    check_outside_runs(Path(path), flag=flag, instead=outside, itself=True)
    check_writable(path, flag)
