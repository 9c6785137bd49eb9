"""The staging folder of ``turing create``: locked for the life of its process, removed without a wait.

A study is assembled in a hidden sibling ``.<study>.creating-<12 hex>`` and renamed into place at the end
(turing/create.py). Two things can leave such a folder behind: a ``create`` that stops (an error, Ctrl-C,
SIGTERM) and one that is killed (SIGKILL, a crash of the machine).

A ``create`` that stops hands its folder to a remover process of its own (:func:`discard`) and exits at
once: unlinking thousands of freshly written files takes seconds to minutes on some disks (3 ms a file here),
which a stop must not wait for.

A later ``create`` of the same study removes the folders that are **provably abandoned**
(:func:`remove_abandoned`). The proof is an OS lock, ``flock(2)``, on the file :data:`LOCK_NAME` inside the
folder:

* the file only ever appears under that name already locked: it is created under another name, locked, then
  renamed into place (:func:`make_staging`);
* the process that builds the study holds the lock for as long as it lives, and unlinks the file before it
  lets the lock go (just before the folder becomes the study); a remover it starts inherits the descriptor,
  and so the lock, and unlinks the file last;
* the kernel drops a ``flock`` when the last descriptor of the open file goes away, however its holders end
  (SIGKILL and a crash included), and a lock taken by one open file conflicts with any other, even in the
  same process.

So when a later ``create`` takes the lock without waiting and the file it locked is still the one named
:data:`LOCK_NAME` in the folder, nobody that could still use the folder is alive: it is removed. When the lock
is held, a ``create`` (or its remover) is at work: the folder is left alone, however old. A folder without the
file (made by an earlier version, or killed in the instant between its creation and its lock), or on a
file system without ``flock``, cannot be proven abandoned: it is removed only once it is
:data:`STALE_S` old, as before.

Only the standard library is imported: the remover runs this module (``python -m``) in a fresh interpreter.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # not POSIX: no proof, so the day rule alone
    fcntl = None

MARK = ".creating-"
LOCK_NAME = ".creating.lock"
STALE_S = 24 * 3600
"""A staging folder that cannot be proven abandoned is removed once it is this old (seconds since its last change)."""

_HEX = frozenset("0123456789abcdef")
_REMOVERS: list[subprocess.Popen] = []  # never waited for; kept so that no "still running" warning is given
_NO_LOCKS = (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL, errno.EBADF, errno.ENOSYS)


def staging_name(folder: Path, key: str) -> Path:
    """The staging folder of ``folder`` named by ``key`` (12 hex digits)."""
    return folder.parent / f".{folder.name}{MARK}{key}"


def make_staging(path: Path) -> int | None:
    """Make the folder ``path`` with its lock file, locked; the lock's descriptor (None where the file system
    has no ``flock``: the folder then falls under the :data:`STALE_S` rule alone). Keep it open until the folder
    is renamed into place (:func:`release`) or handed to :func:`discard`."""
    path.mkdir()
    if fcntl is None:
        return None
    new = path / f"{LOCK_NAME}.new"
    try:
        fd = os.open(new, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a new file: nobody else can hold it
            os.rename(new, path / LOCK_NAME)  # visible under its name only once locked
        except OSError as err:
            os.close(fd)
            os.unlink(new)
            if err.errno in _NO_LOCKS:
                return None
            raise
    except BaseException:
        remove_tree(path)
        raise
    return fd


def release(path: Path, fd: int | None, folder: Path) -> None:
    """Rename the finished staging folder ``path`` to ``folder``, its lock file unlinked first (the lock is
    let go only then: a locked folder is never a study's)."""
    if fd is not None:
        os.unlink(path / LOCK_NAME)
    path.rename(folder)
    if fd is not None:
        os.close(fd)


def count_images(path: Path) -> int:
    """How many files the staging folder's ``images`` holds (0 when it has none)."""
    try:
        with os.scandir(path / "images") as entries:
            return sum(1 for _ in entries)
    except OSError:
        return 0


def discard(path: Path, fd: int | None, folder: Path) -> str | None:
    """Remove the staging folder ``path`` of ``folder`` (``fd``: its lock, or None) without making the caller wait.

    A folder that holds no image goes at once (None is returned). Otherwise a remover process (in a session of
    its own, so the terminal's Ctrl-C or hang-up does not stop it) inherits the lock and removes the folder; the
    returned sentence says so. Where no process can be started, the folder is removed here, and the sentence
    says that instead.
    """
    n = count_images(path)
    if n == 0:
        remove_tree(path)
        _close(fd)
        return None
    images, are = (f"the {n} images", "are") if n != 1 else ("the 1 image", "is")
    if not _hand_over(path, fd):
        return f"{images} staged in {path} {'were' if n != 1 else 'was'} removed"
    return (f"{images} staged in {path} {are} being removed in the background (if that is cut short, the next "
            f"`turing create` of {folder} removes the rest)")


def remove_abandoned(folder: Path, *, older_than_s: float = STALE_S) -> list[Path]:
    """Start removing the staging folders of ``folder`` that are provably abandoned, or :data:`STALE_S` old and
    unlocked (module docstring); returns them. Each goes in a remover process (:func:`discard`), so a start
    does not wait for a large one either."""
    found = []
    if not folder.parent.is_dir():
        return found
    prefix = f".{folder.name}{MARK}"
    for candidate in folder.parent.iterdir():
        key = candidate.name[len(prefix):]
        if not (candidate.name.startswith(prefix) and len(key) == 12 and set(key) <= _HEX
                and candidate.is_dir() and not candidate.is_symlink()):
            continue
        state, fd = _abandoned(candidate)
        if state == "held":
            continue
        if state == "unknown" and time.time() - candidate.stat().st_mtime <= older_than_s:
            continue
        found.append(candidate)
        _hand_over(candidate, fd)
    return found


def _abandoned(candidate: Path) -> tuple[str, int | None]:
    """``("abandoned", fd)``: its lock file was free, and is taken now (``fd``); ``("held", None)``: a live
    process holds it; ``("unknown", None)``: no lock file, or no ``flock`` here."""
    if fcntl is None:
        return "unknown", None
    lock = candidate / LOCK_NAME
    try:
        fd = os.open(lock, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return "unknown", None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as err:
        os.close(fd)
        return ("held", None) if err.errno in (errno.EWOULDBLOCK, errno.EAGAIN) else ("unknown", None)
    try:
        still_named = os.path.samestat(os.stat(lock, follow_symlinks=False), os.fstat(fd))
    except OSError:
        still_named = False
    if not still_named:  # unlinked between our open and our lock: a create that finished (or a remover) let it go
        os.close(fd)
        return "held", None
    return "abandoned", fd


def _hand_over(path: Path, fd: int | None) -> bool:
    """Start ``python -m improved_gan.turing.staging PATH``, which inherits the lock ``fd`` (closed here) and
    removes the folder; False when no process could be started, and the folder was removed here instead."""
    package_root = str(Path(__file__).resolve().parents[2])  # so the remover imports this very module
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (package_root, os.environ.get("PYTHONPATH"))))}
    try:
        if not sys.executable:
            raise OSError(errno.ENOENT, "no Python interpreter to start")
        _REMOVERS.append(subprocess.Popen(  # noqa: S603 -- our interpreter, our module, our folder
            [sys.executable, "-m", __name__, str(path)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            pass_fds=() if fd is None else (fd,), start_new_session=True, env=env,
        ))
        return True
    except OSError:
        remove_tree(path)
        return False
    finally:
        _close(fd)


def remove_tree(path: Path) -> None:
    """Remove a staging folder, its lock file last: a removal cut short leaves a folder still provably
    abandoned."""
    with contextlib.suppress(OSError):
        with os.scandir(path) as entries:
            for entry in list(entries):
                if entry.name == LOCK_NAME:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)
    with contextlib.suppress(OSError):
        os.unlink(path / LOCK_NAME)
    with contextlib.suppress(OSError):
        os.rmdir(path)


def _close(fd: int | None) -> None:
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)


if __name__ == "__main__":  # the remover (see discard): the lock arrives as an inherited descriptor
    remove_tree(Path(sys.argv[1]))
