"""Where a command may write: checks made before any work, so no user file is replaced.

Every command that writes a file the user names (``--out``, ``--json``, ...) checks it
here first, with :func:`check_out_file` or :func:`check_out_folder`, which apply the same
rules to every command, before anything is computed or written, each refusal one line:

- a folder where a file is wanted, a file where a folder is wanted (or in the way of
  one, ``notes.txt/out.png``), and an existing file that this package did not write;
- a path that is or lies inside a run folder, which holds only what its trainer writes
  (a resume would write over the rest);
- a place that cannot be written (a read-only disk, a folder without write permission):
  tried with a temporary entry, made and removed at once, since permissions alone cannot
  tell (root may write to any folder, but to none on a read-only disk).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable

from improved_gan.errors import UserError


def file_in_the_way(path: str | os.PathLike) -> Path | None:
    """The first existing ancestor of ``path`` (not ``path`` itself) that is not a folder, or None."""
    path = Path(path)
    for parent in reversed(path.parents):  # from the root down
        if parent.exists() and not parent.is_dir():
            return parent
    return None


def check_folder_path(path: str | os.PathLike, flag: str = "--out") -> None:
    """``path`` may become a folder: it is not a file, and no file stands where one of its parents must be."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UserError(f"{flag} {path} is a file, not a folder; name a folder (nothing was written)")
    blocker = file_in_the_way(path)
    if blocker is not None:
        raise UserError(f"{flag} {path} cannot be made: {blocker} is a file, not a folder; "
                        "choose another path (nothing was written)")


def check_output_file(
    path: str | os.PathLike,
    flag: str = "--out",
    *,
    ours: Callable[[Path], bool] | None = None,
    what: str = "file",
    instead: str = "choose a new file name",
) -> None:
    """``path`` may be written: no folder is there, no file is in the way, and it does not exist unless
    ``ours(path)`` says it is a file this package wrote (which is then replaced)."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{flag} {path} is a folder; name a {what} (nothing was written)")
    blocker = file_in_the_way(path)
    if blocker is not None:
        raise UserError(f"{flag} {path} cannot be written: {blocker} is a file, not a folder; "
                        "choose another path (nothing was written)")
    if path.exists() and not (ours is not None and ours(path)):
        raise UserError(f"{flag} {path} exists and was not written by improved-gan; {instead} "
                        "(nothing was written, and your file is unchanged)")


def starts_with(path: Path, prefix: str) -> bool:
    """Whether the text file ``path`` begins with ``prefix`` (False for a file that cannot be read as text)."""
    try:
        with open(path, encoding="utf-8") as f:
            return f.read(len(prefix)) == prefix
    except (OSError, UnicodeDecodeError):
        return False


def check_writable(path: str | os.PathLike, flag: str = "--out", *, folder: bool = False) -> None:
    """``path`` (a ``folder`` to make or fill, else a file to write) can be written: a temporary folder is made
    and removed in the folder that will hold it, or in its nearest existing ancestor when that is still to be
    made. Call after the checks of kind (:func:`check_folder_path`, :func:`check_output_file`)."""
    path = Path(os.path.abspath(path))
    holder = path if folder else path.parent
    existing = next((p for p in (holder, *holder.parents) if p.is_dir()), None)
    if existing is None:
        return
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".improved-gan-probe-", dir=existing))
    except OSError as err:
        where = "" if existing == holder else f" (in {existing}, the nearest folder that exists)"
        raise UserError(f"{flag} {path} cannot be written: {err.strerror or err}{where}; choose another path "
                        "(nothing was computed or written)") from None


def _check_outside_runs(path: Path, flag: str, instead: str, itself: bool) -> None:
    from improved_gan.training.run_guard import check_outside_runs

    check_outside_runs(path, flag=flag, instead=instead, itself=itself)


def check_out_folder(path: str | os.PathLike, flag: str = "--out", *, instead: str = "choose a folder outside it",
                     run: bool = False) -> None:
    """Every rule (module docstring) for a folder a command makes or fills; ``run``: the folder is a run itself
    (train's ``--out``), which may be an existing run but not lie inside one."""
    check_folder_path(path, flag)
    _check_outside_runs(Path(path), flag, instead, itself=not run)
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
    """Every rule (module docstring) for a file a command writes; ``ours``, ``what``, ``instead`` as for
    :func:`check_output_file`, ``outside`` what to do instead of writing into a run folder."""
    check_output_file(path, flag, ours=ours, what=what, instead=instead)
    _check_outside_runs(Path(path), flag, outside, itself=True)
    check_writable(path, flag)
