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


def _appears_before_publishing(monkeypatch, path, data: bytes = b"theirs") -> None:
    """Another process writes ``path`` while this write's bytes are synced: after the check, before the publish."""
    fsync = atomic.os.fsync

    def fsync_then_theirs(fd):
        fsync(fd)
        if not os.path.lexists(path):
            with open(path, "wb") as f:
                f.write(data)

    monkeypatch.setattr(atomic.os, "fsync", fsync_then_theirs)


def test_a_new_file_is_published_without_replacing_one_that_appeared_meanwhile(tmp_path, monkeypatch):
    """The seventh sweep: a file that must be new was published with os.replace, so of two writers that both found
    the name free, the second replaced the first's file and both said they wrote it."""
    target = tmp_path / "f.bin"
    _appears_before_publishing(monkeypatch, target)
    with pytest.raises(atomic.AppearedMeanwhile) as refused:
        atomic_write_bytes(target, b"mine", replace=False)
    assert str(refused.value) == f"{target} appeared meanwhile (another process wrote it)"
    assert isinstance(refused.value, FileExistsError)
    assert target.read_bytes() == b"theirs" and os.listdir(tmp_path) == ["f.bin"]  # no temporary file left


def test_a_new_file_is_published_whole_and_a_dangling_link_is_not_replaced(tmp_path):
    atomic.atomic_write_text(tmp_path / "new.txt", "text\n", replace=False)
    assert (tmp_path / "new.txt").read_text() == "text\n" and os.listdir(tmp_path) == ["new.txt"]
    (tmp_path / "link").symlink_to(tmp_path / "nowhere")
    with pytest.raises(atomic.AppearedMeanwhile):
        atomic_write_bytes(tmp_path / "link", b"x", replace=False)
    assert sorted(os.listdir(tmp_path)) == ["link", "new.txt"] and not (tmp_path / "nowhere").exists()


def test_without_hard_links_a_new_file_is_still_published_and_not_replaced(tmp_path, monkeypatch):
    """FAT and some network mounts refuse os.link (EPERM): the name is taken with O_EXCL instead."""
    def no_links(src, dst):
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(atomic.os, "link", no_links)
    atomic_write_bytes(tmp_path / "new.bin", b"mine", replace=False)
    assert (tmp_path / "new.bin").read_bytes() == b"mine" and os.listdir(tmp_path) == ["new.bin"]
    _appears_before_publishing(monkeypatch, tmp_path / "f.bin")
    with pytest.raises(atomic.AppearedMeanwhile):
        atomic_write_bytes(tmp_path / "f.bin", b"mine", replace=False)
    assert (tmp_path / "f.bin").read_bytes() == b"theirs" and sorted(os.listdir(tmp_path)) == ["f.bin", "new.bin"]
