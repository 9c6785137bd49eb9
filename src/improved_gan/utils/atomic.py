"""Atomic file writes: a crash leaves either the old file or the new one, never half.

Every file a user would miss after a crash (checkpoints, metrics, results,
reports, caches) is written through these helpers: the bytes go to a temporary
file in the same folder, are flushed and fsync'ed, then ``os.replace`` swaps it
in, which POSIX guarantees to be atomic.

The module is free of torch (run folders' JSON and text are written by commands
that load no network); :func:`atomic_torch_save` imports it when it is called.
"""

from __future__ import annotations

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
    path: str | os.PathLike, mode: str = "wb", *, before_replace: Callable[[], None] | None = None
) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on success, move it over ``path``.

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
            os.replace(tmp, path)
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
    path: str | os.PathLike, data: bytes, *, before_replace: Callable[[], None] | None = None
) -> None:
    with atomic_open(path, "wb", before_replace=before_replace) as f:
        f.write(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_open(path, "w") as f:
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
