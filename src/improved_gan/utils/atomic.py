"""Atomic file writes: a crash leaves either the old file or the new one, never half.

Every file a user would miss after a crash (checkpoints, metrics, results,
reports, caches) is written through these helpers: the bytes go to a temporary
file in the same folder, are flushed and fsync'ed, then ``os.replace`` swaps it
in, which POSIX guarantees to be atomic. A file that must be new is published
without replacing (``replace=False``): ``os.link`` gives the temporary file its
name only if no file has it, so of two writers that both found the name free,
the second is refused (:class:`AppearedMeanwhile`) instead of replacing the first.

The module is free of torch (run folders' JSON and text are written by commands
that load no network); :func:`atomic_torch_save` imports it when it is called.
"""

from __future__ import annotations

import errno
import io
import json
import os
import re
import secrets
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Callable, Iterator


TEMP_SUFFIX = ".tmp"
TEMP_PATTERN = re.compile(r"\.(?P<target>.+)\.[a-z0-9_]{8}\.tmp")
"""Temporary files are ``.NAME.RANDOM.tmp`` beside the file ``NAME`` they become, RANDOM eight characters
(``.last.pt.k2x9_a1q.tmp``, as ``tempfile.mkstemp`` names them)."""


def temporary_name(path: str | os.PathLike) -> Path:
    """A fresh temporary name beside ``path`` in the pattern of :data:`TEMP_PATTERN` (nothing is created)."""
    path = Path(path)
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}{TEMP_SUFFIX}")


def temporary_target(name: str) -> str | None:
    """The file name that the temporary file ``name`` was to become, or None when ``name`` is not one."""
    match = TEMP_PATTERN.fullmatch(name)
    return match["target"] if match else None


class AppearedMeanwhile(FileExistsError):
    """A file to be published without replacing (``replace=False``) exists by then: another process wrote it
    after the command checked that the name was free. Its message is ``PATH appeared meanwhile (another
    process wrote it)``; the caller adds what was (not) done."""

    def __init__(self, path: str | os.PathLike) -> None:
        super().__init__(errno.EEXIST, "appeared meanwhile (another process wrote it)", str(path))
        self.path = Path(path)

    def __str__(self) -> str:
        return f"{self.path} appeared meanwhile (another process wrote it)"


def publish_new(tmp: str | os.PathLike, path: str | os.PathLike) -> None:
    """Give the complete file ``tmp`` the name ``path`` only if nothing has that name (``os.link``, then ``tmp``
    unlinked), else raise :class:`AppearedMeanwhile` (``tmp`` is left to the caller). A dangling link at
    ``path`` counts as a file: it is not replaced either. Where the file system has no hard links (FAT, some
    network mounts), the name is taken by creating ``path`` with ``O_EXCL`` and ``tmp`` is moved over that
    (empty until then)."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise AppearedMeanwhile(path) from None
    except OSError as err:
        if err.errno not in NO_HARD_LINKS:
            raise
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            raise AppearedMeanwhile(path) from None
        os.replace(tmp, path)  # over the empty file this call just made
        return
    os.unlink(tmp)


NO_HARD_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS, errno.EMLINK}
"""``os.link``'s errors where the file system cannot link (FAT: EPERM) or the file has too many links."""


@contextmanager
def removing_folders_it_makes(folder: str | os.PathLike) -> Iterator[None]:
    """If the block raises, the folders among ``folder`` and its parents that did not exist before it are removed
    again, deepest first, while they are empty (one that another writer filled meanwhile stays, and so do the
    folders above it): a command that failed on a full disk leaves no empty folder of its own."""
    made = [f for f in (Path(folder), *Path(folder).parents) if not f.exists()]  # deepest first
    try:
        yield
    except BaseException:
        for made_folder in made:
            try:
                os.rmdir(made_folder)
            except OSError:
                break
        raise


@contextmanager
def atomic_open(
    path: str | os.PathLike, mode: str = "wb", *, before_replace: Callable[[], None] | None = None,
    replace: bool = True,
) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on success, move it over ``path`` (``replace=False``: give it the
    name only if nothing has it, else :class:`AppearedMeanwhile`, the temporary file removed: :func:`publish_new`).

    If the block raises, the temporary file is removed, ``path`` is untouched, and the folders this call made for
    it are removed again while they are empty (``games --out DIR`` on a full disk left an empty ``DIR``).
    ``before_replace`` runs once the new bytes are complete on disk, just before
    the swap (a checkpoint keeps the old file as its backup there).
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open supports modes 'w' and 'wb' (got {mode!r})")
    path = Path(path)
    with removing_folders_it_makes(path.parent):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
        try:
            os.fchmod(fd, 0o666 & ~current_umask())  # mkstemp makes 0600; give the file a normal mode
            with os.fdopen(fd, mode, **({"encoding": "utf-8"} if mode == "w" else {})) as f:
                yield f
                f.flush()
                os.fsync(f.fileno())
            if before_replace is not None:
                before_replace()
            if replace:
                os.replace(tmp, path)
            else:
                publish_new(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise


def current_umask() -> int:
    """The process's umask (read by setting it and setting it back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(
    path: str | os.PathLike, data: bytes, *, before_replace: Callable[[], None] | None = None,
    replace: bool = True,
) -> None:
    with atomic_open(path, "wb", before_replace=before_replace, replace=replace) as f:
        f.write(data)


def atomic_write_text(path: str | os.PathLike, text: str, *, replace: bool = True) -> None:
    with atomic_open(path, "w", replace=replace) as f:
        f.write(text)


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def atomic_torch_save(
    obj: Any, path: str | os.PathLike, *, before_replace: Callable[[], None] | None = None
) -> None:
    """``torch.save`` through a temporary file (serialised in memory first)."""
    import torch  # the one writer that needs it: see the module docstring

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write_bytes(path, buffer.getvalue(), before_replace=before_replace)
