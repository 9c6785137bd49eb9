"""A file that a process holds while it works: locked with ``fcntl.flock`` and holding its process id.

The OS releases the lock when the process ends, however it ends, so a file left by a killed process (or written by
hand: ``echo 1 > running.pid``) holds no lock and means nothing. Two homes use it: a run's ``running.pid`` while
a process trains the run (:class:`~improved_gan.runs.guard.RunningMark`), and a command's hold on the ``--out``
folder in which it trains several runs (:class:`~improved_gan.runs.out_lock.OutFolderLock`).

The lock file is opened without following a link and without blocking (a FIFO where it should be would block an
``open`` forever), and only a regular file is used.
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path
from typing import Callable

from improved_gan.errors import UserError

LOCK_TRIES = 5
"""Tries of a non-blocking lock, 10 ms apart (a reader of the mark holds it shared for an instant)."""

_OPEN = os.O_NOFOLLOW | os.O_NONBLOCK  # never through a link, never waiting on a FIFO's other end


def lock_holder(path: Path) -> int | None:
    """The process that holds the lock on the file ``path`` now, or None (no such regular file, or nobody holds
    it); -1 when it is held but holds no process id yet."""
    import fcntl  # POSIX only: where it is missing, the other run-folder rules still import and work

    try:
        fd = os.open(path, os.O_RDONLY | _OPEN)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return None  # nobody holds it
        except BlockingIOError:
            pass
        for _ in range(LOCK_TRIES):  # the holder writes its id just after taking the lock
            text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            if text.isdigit():
                break
            time.sleep(0.01)
    finally:
        os.close(fd)
    pid = int(text) if text.isdigit() else -1
    return None if pid == os.getpid() else pid


class ProcessLock:
    """``with ProcessLock(path, refusal):`` holds the lock on ``path`` for the block: the file, locked and holding
    this process's id, is removed after. Held by another process: a UserError of ``refusal(who)`` ("process
    1234"). A path that is not a regular file (a folder, a FIFO, a link) is a UserError saying so; with
    ``only_ours``, so is a file that holds anything but a process id (a file of the user's of that name: a lock
    file found there is used and removed only when it can be one that a process like this one left)."""

    def __init__(self, path: Path, refusal: Callable[[str], str], *, only_ours: bool = False) -> None:
        self.path, self.refusal, self.only_ours = Path(path), refusal, only_ours
        self.fd: int | None = None

    def __enter__(self) -> "ProcessLock":
        while self.fd is None:
            fd = self._open()
            if not _lock(fd):
                os.close(fd)
                pid = lock_holder(self.path)
                raise UserError(self.refusal(f"process {pid}" if pid and pid > 0 else "another process"))
            if _same_file(fd, self.path):  # else its holder removed it as we opened it: open the new one
                try:
                    os.ftruncate(fd, 0)
                    os.write(fd, f"{os.getpid()}\n".encode())
                except BaseException:  # a full disk, a stop: no empty lock file stays behind, no lock held
                    self.path.unlink(missing_ok=True)
                    os.close(fd)
                    raise
                self.fd = fd
            else:
                os.close(fd)
        return self

    def _open(self) -> int:
        """The lock file, opened (made if missing); a UserError when something else stands at its path."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | _OPEN, 0o644)
        except OSError as err:
            fd = None
            problem = "is a symbolic link" if self.path.is_symlink() else f"cannot be opened ({err.strerror})"
        else:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                problem = "is not a regular file"
            elif self.only_ours and not _a_process_id(os.pread(fd, 64, 0)):
                problem = "is a file that improved-gan did not write"
            else:
                return fd
            os.close(fd)
        raise UserError(f"{self.path} {problem}: the lock file of a command goes there; move it away and run "
                        "again (nothing was changed)")

    def __exit__(self, *exc) -> None:
        self.path.unlink(missing_ok=True)  # before the lock is released: no one locks a removed file
        os.close(self.fd)
        self.fd = None


def _a_process_id(text: bytes) -> bool:
    """Whether ``text`` is what a lock file holds: nothing yet, or a process id and a newline."""
    return text == b"" or text.endswith(b"\n") and text[:-1].isdigit()


def _lock(fd: int) -> bool:
    import fcntl

    for attempt in range(LOCK_TRIES):
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            time.sleep(0.01)
    return False


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path, follow_symlinks=False))
    except FileNotFoundError:
        return False
