"""A command that trains several runs into one ``--out`` (``reproduce table1``, ``demo``, ``ablate``) holds that
folder for its whole life, so that a second such command into the same folder is refused at once.

Each run has its own lock (``running.pid``, :class:`~improved_gan.runs.guard.RunningMark`), but a command's
workers take those only when they start training, seconds after the command began (17 s under load): two
commands started together both passed the check for runs being trained, and each then won some of the runs
(both failed, neither wrote its table). The folder's lock is taken by the command itself, before that check:
``OUT/.improved-gan.pid`` (:class:`~improved_gan.runs.process_lock.ProcessLock`: flock-ed, holding the command's
process id, released by the OS when the process ends however it ends), removed when the command ends.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from improved_gan.runs.process_lock import ProcessLock
from improved_gan.utils.atomic import removing_folders_it_makes

OUT_LOCK = ".improved-gan.pid"
"""The lock file of the command that holds an ``--out`` folder."""


class OutFolderLock(ProcessLock):
    """``with OutFolderLock(out):`` this command holds the existing folder ``out`` for the block; another process
    holding it is a UserError naming that process, before anything is started."""

    def __init__(self, out: Path) -> None:
        super().__init__(Path(out) / OUT_LOCK, lambda who: (
            f"--out {out} is in use by {who} now (another command training its runs there); wait for it or stop "
            "it first, or choose another --out (nothing was started)"), only_ours=True)


@contextmanager
def holding_out_folder(out: Path) -> Iterator[None]:
    """``with holding_out_folder(out):`` the folder ``out`` made if missing and held by this command for the
    block (:class:`OutFolderLock`); if the block fails, the folders it made are removed again while empty
    (:func:`~improved_gan.utils.atomic.removing_folders_it_makes`: a full disk leaves no empty ``--out``)."""
    with removing_folders_it_makes(out):
        Path(out).mkdir(parents=True, exist_ok=True)
        with OutFolderLock(out):
            yield
