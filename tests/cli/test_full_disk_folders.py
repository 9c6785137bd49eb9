"""A command that fails on a full disk before writing anything of use leaves no folder it made (sweep 2).

``demo --out FULL/d`` on a full disk left ``FULL/d/labels-only/`` and ``FULL/d/k-plus-1-gan/`` empty: each run
made its folder before its first file (``config.json``), which the full disk refused. The run folder is now made
by that file's atomic write, which removes the folders it made when it fails, and the demo removes the ``--out``
folders it made when both runs left them empty. A folder that was there before is kept.
"""

from __future__ import annotations

import errno
import os
import subprocess

import pytest

from clitools import one_line_error
from tiny_run import TINY, TINY_TABLE1


def test_train_on_a_full_disk_leaves_no_folder_it_made(tmp_path, capsys, monkeypatch):
    from improved_gan.utils import atomic

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic.os, "fsync", no_space)  # every atomic write's bytes: config.json's the first
    (tmp_path / "yours").mkdir()
    one_line_error(capsys, ["train", "mnist-fm", *TINY, "--out", str(tmp_path / "yours" / "new" / "x")],
                   "No space left on device")
    assert os.listdir(tmp_path / "yours") == []  # yours stays, new/x went


TMPFS_BYTES = 1 << 20
"""The size asked of the tmpfs. The fill below writes at most twice this, so a mount that ignores ``size=`` (a
sandbox's tmpfs) costs 2 MiB, never the machine's disk: the stop 33 CI run filled its disk here (a loop that wrote
until ENOSPC, on a tmpfs that never said it), and 108 tests after it failed."""


def _fill(folder):
    """Write zeros into ``folder/fill`` until the disk refuses (True), or give up after 2 * TMPFS_BYTES (False)."""
    block = b"\0" * 4096
    with open(folder / "fill", "wb", buffering=0) as f:  # unbuffered: nothing left to write at close
        for _ in range(2 * TMPFS_BYTES // len(block)):
            try:
                f.write(block)
            except OSError as err:
                assert err.errno == errno.ENOSPC, err
                return True
    return False


@pytest.fixture
def full_disk(tmp_path):
    """A tmpfs of 1 MiB, filled to the last block (root only; skipped where no such tmpfs can be made)."""
    folder = tmp_path / "full"
    folder.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_BYTES}", "tmpfs", str(folder)],
                                           capture_output=True).returncode != 0:
        pytest.skip("a full disk needs a tmpfs mounted, which needs root")
    try:
        stats = os.statvfs(folder)
        if os.stat(folder).st_dev == os.stat(tmp_path).st_dev or stats.f_blocks * stats.f_frsize > 2 * TMPFS_BYTES:
            pytest.skip("mount said yes but no 1 MiB file system is there")
        if not _fill(folder):
            pytest.skip(f"the tmpfs took {2 * TMPFS_BYTES} bytes without filling: it ignores size=")
        (folder / "yours").mkdir()  # an empty folder of the user's, there before
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_demo_on_a_full_disk_leaves_no_folder_it_made(full_disk, capsys):
    from improved_gan.cli.main import main

    assert main(["demo", "--epochs", "1", "--no-progress", "--out", str(full_disk / "yours" / "new" / "d")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "No space left on device" in err, err
    assert sorted(os.listdir(full_disk)) == ["fill", "yours"] and os.listdir(full_disk / "yours") == []


def test_train_on_a_full_disk_at_its_lock_leaves_no_empty_running_pid(tmp_path, capsys, monkeypatch):
    """The disk filled as the run's process id was written: an empty ``running.pid`` stayed (the third sweep)."""
    from improved_gan.runs import guard

    real_write, pid_line = os.write, f"{os.getpid()}\n".encode()

    def no_space_for_the_pid(fd, data):
        if data == pid_line:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(guard.os, "write", no_space_for_the_pid)
    run = tmp_path / "run"
    one_line_error(capsys, ["train", "mnist-fm", *TINY, "--out", str(run)], "No space left on device")
    assert not (run / "running.pid").exists(), sorted(os.listdir(run))


def test_reproduce_on_a_full_disk_leaves_no_folder_it_made(full_disk, capsys):
    """Every run failed before writing, and ``reproduce``'s own ``--out`` stayed, empty (the third sweep)."""
    from improved_gan.cli.main import main

    assert main(["reproduce", "table1", *TINY_TABLE1, "--seeds", "1", "--labels", "20",
                 "--out", str(full_disk / "yours" / "new" / "t")]) == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err and "Traceback" not in err, err
    assert sorted(os.listdir(full_disk)) == ["fill", "yours"] and os.listdir(full_disk / "yours") == []
