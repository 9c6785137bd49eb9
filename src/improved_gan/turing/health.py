"""What ``/healthz`` checks, and what annotators see when storage fails.

:func:`problems` asks every served study's database for a round trip and, for
a SQLite store, checks that its disk has room for more votes; an empty list
means healthy. :func:`storage_failure_line` is the one log line written per
failed request (no traceback: the cause is the database or the disk, not the
code, and a full disk would otherwise fill the log with identical stacks).
"""

from __future__ import annotations

import shutil
from typing import Iterable

from sqlalchemy.exc import SQLAlchemyError

from improved_gan.turing.served import ServedStudy

# A vote is a few hundred bytes; below this much free space SQLite's journal
# and checkpoints start failing, so the server says so before the votes do.
MIN_FREE_BYTES = 64 * 1024 * 1024


def problems(studies: Iterable[ServedStudy], *, min_free_bytes: int = MIN_FREE_BYTES) -> list[str]:
    """One line per study whose store cannot take votes now."""
    found = []
    for served in studies:
        try:
            served.store.ping()
        except SQLAlchemyError as err:
            found.append(f"{served.slug}: database unreachable ({_first_line(err)})")
            continue
        if served.store.engine.dialect.name == "sqlite":
            free = shutil.disk_usage(served.folder.root).free
            if free < min_free_bytes:
                found.append(f"{served.slug}: {free // 2**20} MiB free on the study's disk, "
                             f"need {min_free_bytes // 2**20} MiB")
    return found


def storage_failure_line(method: str, path: str, err: BaseException) -> str:
    """The log line for a request that failed in the database or on the disk."""
    return f"storage failure: {method} {path}: {type(err).__name__}: {_first_line(err)}"


def _first_line(err: BaseException) -> str:
    text = str(getattr(err, "orig", None) or err).strip()
    return text.splitlines()[0][:300] if text else type(err).__name__
