"""A study on a full disk: `invite` and `token` say the disk is full, never that the database may be damaged.

With a few KiB free, SQLite cannot grow its shared-memory file (turing.sqlite3-shm) and says "disk I/O error"
(SQLITE_IOERR_SHMSIZE), not "database or disk is full": the ninth sweep's `invite --n 200` with about 60 KiB free
was told to check that the database was undamaged and to restore it from a backup. The database was whole; freed
space was all it needed. SQLite's -shm and -wal files, left beside it, are its own, and are left alone.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
from typing import Iterator

import numpy as np
import pytest
from clitools import cli

TMPFS_BYTES = 2 << 20
"""The size asked of the tmpfs: the study (about 0.5 MiB) and room to spare."""
LEFT_FREE = 8 << 10
"""What the fill leaves free: too little for SQLite's shared-memory file to grow (the sweep's 60 KiB on its
machine; the first 32 KiB region is allocated whole on a tmpfs)."""


@contextlib.contextmanager
def _small_tmpfs(folder) -> Iterator[None]:
    """``folder`` as a tmpfs of TMPFS_BYTES while the block runs; skips the test unless it is one (root only)."""
    if os.geteuid() != 0:
        pytest.skip("a full disk needs a tmpfs mounted, which needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_BYTES}", "tmpfs", str(folder)],
                             capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"no tmpfs could be mounted: {mounted.stderr.strip()}")
    try:
        if shutil.disk_usage(folder).total > TMPFS_BYTES or os.stat(folder).st_dev == os.stat(folder.parent).st_dev:
            pytest.skip("mount said yes but no small tmpfs is there")  # a fill there could fill the machine's disk
        yield
    finally:
        subprocess.run(["umount", str(folder)], check=True)


@pytest.fixture
def study_on_a_full_disk(tmp_path):
    """A study made by `turing create`, copied onto a small tmpfs that a file then fills to LEFT_FREE. Yields the
    study's folder."""
    rng = np.random.default_rng(0)
    for name in ("real", "gen"):
        np.savez(tmp_path / f"{name}.npz", x=rng.integers(0, 256, (40, 8, 8, 1), dtype=np.uint8))
    cli("turing", "create", str(tmp_path / "study"), "--real", str(tmp_path / "real.npz"), "--generated",
        str(tmp_path / "gen.npz"), "--per-session", "10", "--attention-checks", "1", "--tutorial", "2",
        "--no-progress", "--allow-recurring-images")
    disk = tmp_path / "disk"
    disk.mkdir()
    with _small_tmpfs(disk):
        shutil.copytree(tmp_path / "study", disk / "study")
        with open(disk / "fill", "wb") as fill:
            os.posix_fallocate(fill.fileno(), 0, shutil.disk_usage(disk).free - LEFT_FREE)
        assert shutil.disk_usage(disk).free <= LEFT_FREE
        yield disk / "study"


@pytest.mark.parametrize("argv", [["invite", "--n", "200"], ["token"]], ids=["invite", "token"])
def test_a_full_disk_is_said_full_not_a_damaged_database(argv, study_on_a_full_disk):
    study = study_on_a_full_disk
    result = cli("turing", argv[0], str(study), *argv[1:], check=False)
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("error: the disk holding the study's database (turing.sqlite3 in its folder) "
                                    "is full ("), result.stderr
    assert "free some space there and run the command again" in result.stderr
    assert "restore" not in result.stderr and "damaged" not in result.stderr
    (study.parent / "fill").unlink()  # space again: the database was whole, and takes the command
    assert cli("turing", "invite", str(study), "--n", "3").stdout.count("\n") == 4  # a header and 3 codes
    with contextlib.closing(sqlite3.connect(study / "turing.sqlite3")) as db:  # closed: the disk is unmounted next
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


@pytest.mark.parametrize("free, full", [(8 << 10, True), (64 << 20, False)], ids=["8-KiB-free", "64-MiB-free"])
def test_a_disk_io_error_is_a_full_disk_where_little_is_free(free, full, tmp_path, monkeypatch):
    """The decision where no tmpfs can be mounted: SQLite's SQLITE_IOERR_SHMSIZE, the free space faked; the study's
    file not there yet (create's) reads the folder above it."""
    from types import SimpleNamespace

    from sqlalchemy.exc import OperationalError

    from improved_gan.turing import database

    cause = sqlite3.OperationalError("disk I/O error")
    cause.sqlite_errorcode = 4874  # SQLITE_IOERR_SHMSIZE
    err = OperationalError("PRAGMA journal_mode=WAL", {}, cause)
    monkeypatch.setattr(database.shutil, "disk_usage", lambda path: SimpleNamespace(free=free))
    assert database.storage_full(err, tmp_path / "new" / "turing.sqlite3") is full
    assert database.storage_full(err) is False  # no file system to read: the error's code alone decides
