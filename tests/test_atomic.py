"""utils/atomic.py: a write that fails leaves what was there, and nothing of its own (a temporary file, a folder
it made). `games --out DIR` on a full disk left an empty DIR behind (the sweep of issue 26)."""

from __future__ import annotations

import errno
import os

import pytest

from improved_gan.utils import atomic
from improved_gan.utils.atomic import atomic_write_bytes


def _full_disk(monkeypatch) -> None:
    def fsync(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", fsync)


def test_a_failed_write_removes_the_folders_it_made_and_keeps_the_rest(tmp_path, monkeypatch):
    (tmp_path / "yours").mkdir()
    _full_disk(monkeypatch)
    with pytest.raises(OSError, match="No space left"):
        atomic_write_bytes(tmp_path / "yours" / "new" / "deeper" / "f.bin", b"x")
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["yours"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")
    _full_disk(monkeypatch)
    with pytest.raises(OSError):
        atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old" and sorted(os.listdir(tmp_path)) == ["f.bin"]


def test_games_on_a_full_disk_leaves_no_folder(tmp_path, monkeypatch, capsys):
    from improved_gan.cli.main import main

    _full_disk(monkeypatch)
    assert main(["games", "--out", str(tmp_path / "new" / "games"), "--game", "bilinear", "--steps", "50", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: No space left on device") and err.count("\n") == 1, err
    assert not (tmp_path / "new").exists()
