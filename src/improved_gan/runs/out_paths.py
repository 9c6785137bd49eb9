"""Where a command may write: checks made before any work, so no user file is replaced.

Every command that writes a file the user names (``--out``, ``--json``, ...) checks it
first, with :func:`~improved_gan.runs.out_rules.check_out_file` or ``check_out_folder``,
which apply the rules of this module and the run-folder rule to every command, before
anything is computed or written, each refusal one line:

- ``-``, which other tools read as standard output: nothing here writes there, and a file or folder named
  ``-`` in the working folder is rarely what was meant (its full path names one);
- a folder where a file is wanted, a file where a folder is wanted (or in the way of
  one, ``notes.txt/out.png``), a symbolic link to nothing where a folder is wanted (the
  folder could not be made there), an existing file that this package did not write, and a
  symbolic link where a file is wanted (a file is written by a rename, which would
  replace the link, dangling or not, rather than write where it leads);
- a path that is or lies inside a run folder, which holds only what its trainer writes
  (a resume would write over the rest);
- a place that cannot be written (a read-only disk, a folder without write permission):
  tried with a temporary entry, made and removed at once (the folder's times then put back),
  since permissions alone cannot tell (root may write to any folder, but to none on a
  read-only disk).
"""

from __future__ import annotations

import argparse
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


def path_argument(text: str) -> Path:
    """The argparse ``type`` of every path the user names, a run, a study or an output: an empty value is refused
    (``Path("")`` is the working folder, which ``--out ""`` or ``resume "$RUN"`` with RUN unset never means; `cd
    STUDY && turing token ""` replaced the owner token); an output's other rules are checked by the command,
    before any work."""
    if not text.strip():
        raise argparse.ArgumentTypeError("empty: name a path (an empty one would be the working folder)")
    return Path(text)


def refuse_standard_output(path: str | os.PathLike, flag: str = "--out") -> None:
    """Refuse ``-``: no command writes to standard output, and a ``-`` in the working folder is rarely meant."""
    if os.fspath(path) == "-":
        raise UserError(f"{flag} -: improved-gan writes files, not standard output; name a path (for one named "
                        f"'-' here, give its full path, {Path.cwd() / '-'}) (nothing was written)")


def check_folder_path(path: str | os.PathLike, flag: str = "--out") -> None:
    """``path`` may become a folder: it is not ``-``, a file nor a symbolic link to nothing (making the folder
    would fail on the link after the work, ``[Errno 17] File exists``), and no file stands where one of its
    parents must be."""
    refuse_standard_output(path, flag)
    path = Path(path)
    if path.is_symlink() and not path.exists():
        raise UserError(f"{flag} {path} is a symbolic link to {os.readlink(path)}, which does not exist; "
                        "make that folder, or choose another path (nothing was written)")
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
    """``path`` may be written: it is not ``-``, no folder and no symbolic link is there, no file is in the way,
    and it does not exist unless ``ours(path)`` says it is a file this package wrote (which is then replaced)."""
    refuse_standard_output(path, flag)
    path = Path(path)
    if path.is_symlink():
        raise UserError(f"{flag} {path} is a symbolic link (to {os.readlink(path)}), which writing it would "
                        f"replace; name a new {what} (nothing was written)")
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


def check_writable(path: str | os.PathLike, flag: str = "--out", *, folder: bool = False,
                   instead: str = "choose another path") -> None:
    """``path`` (a ``folder`` to make or fill, else a file to write) can be written: a temporary folder is made
    and removed in the folder that will hold it, or in its nearest existing ancestor when that is still to be
    made, and that folder's times are put back (:func:`_put_back_times`), so a check changes nothing (``train
    --dry-run``). Call after the checks of kind (:func:`check_folder_path`, :func:`check_output_file`).
    ``instead``: what the message tells the user to do."""
    path = Path(os.path.abspath(path))
    holder = path if folder else path.parent
    existing = next((p for p in (holder, *holder.parents) if p.is_dir()), None)
    if existing is None:
        return
    try:
        times = os.stat(existing)
        os.rmdir(tempfile.mkdtemp(prefix=".improved-gan-probe-", dir=existing))
    except OSError as err:
        where = "" if existing == holder else f" (in {existing}, the nearest folder that exists)"
        raise UserError(f"{flag} {path} cannot be written: {err.strerror or err}{where}; {instead} "
                        "(nothing was computed or written)") from None
    _put_back_times(existing, times)


def _put_back_times(folder: Path, before: os.stat_result) -> None:
    """Give ``folder`` the access and modification times of ``before`` again: the probe's entry, made and removed,
    changed its modification time (``train --dry-run --out RUN`` made RUN look just written). Where this user may
    write in the folder but not set its times (a folder of another's, not as root), they stay changed; the change
    time cannot be put back by anyone."""
    try:
        os.utime(folder, ns=(before.st_atime_ns, before.st_mtime_ns))
    except OSError:
        pass
