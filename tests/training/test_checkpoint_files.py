"""A run's two checkpoints are two files, whatever interrupts a save (issue 26, item 6).

``previous.pt`` was a hard link made before ``last.pt`` was rewritten: a Ctrl-C, a kill or a full disk
during the write left both names on one inode, and damaging ``last.pt`` in place damaged the backup.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

import pytest

from clitools import cli

CHECKPOINTS = ("last.pt", "previous.pt")


@pytest.fixture
def run_copy(tiny_run, tmp_path) -> Path:
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    return run


def _damage_in_place(path: Path) -> None:
    """Overwrite the file's bytes through its inode (as a disk error or an editor would), not by a new file."""
    with open(path, "r+b") as f:
        f.write(b"\0" * 4096)


def _distinct(folder: Path) -> None:
    last, previous = folder / "last.pt", folder / "previous.pt"
    assert not os.path.samefile(last, previous), "previous.pt is last.pt"


@pytest.mark.parametrize("interruption", ["full disk", "Ctrl-C"])
def test_an_interrupted_checkpoint_write_leaves_two_files(run_copy, capsys, monkeypatch, interruption):
    from improved_gan.cli.main import main
    from improved_gan.runs import checkpoint

    folder = run_copy / "checkpoints"
    before = (folder / "last.pt").read_bytes()

    def interrupted(obj, path, **kwargs):  # inside the write of the new bytes, before anything is replaced
        if interruption == "Ctrl-C":
            raise KeyboardInterrupt
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(checkpoint, "atomic_torch_save", interrupted)
    assert main(["train", "--resume", str(run_copy), "--epochs", "4", "--no-progress"]) in (2, 130)
    capsys.readouterr()
    assert (folder / "last.pt").read_bytes() == before
    _distinct(folder)
    _damage_in_place(folder / "last.pt")  # the backup is a file of its own: the run goes back one epoch
    result = cli("eval", str(run_copy), "--json")
    assert "last.pt cannot be read" in result.stderr and "using" in result.stderr and "epoch 2" in result.stderr


@pytest.mark.parametrize("crash_at", range(3))
def test_a_crash_at_any_step_of_a_save_leaves_last_and_previous_distinct(run_copy, monkeypatch, crash_at):
    """A kill between any two file operations of save_checkpoint (link, replace last.pt, replace previous.pt):
    last.pt is a whole checkpoint, previous.pt another file, and whatever else is left is a temporary file."""
    import torch

    from improved_gan.runs.checkpoint import load_checkpoint, save_checkpoint

    folder = run_copy / "checkpoints"
    state = torch.load(folder / "last.pt", weights_only=False)
    calls = []

    class Killed(BaseException):
        pass

    def dies(real):
        def call(*args, **kwargs):
            calls.append(real.__name__)
            if len(calls) == crash_at + 1:
                raise Killed
            return real(*args, **kwargs)
        return call

    monkeypatch.setattr(os, "link", dies(os.link))
    monkeypatch.setattr(os, "replace", dies(os.replace))
    monkeypatch.setattr(os, "unlink", lambda *a, **k: None)  # a kill runs no clean-up
    with pytest.raises(Killed):
        save_checkpoint(run_copy, {**{k: v for k, v in state.items() if k != "version"}, "epoch": 4})
    monkeypatch.undo()
    assert calls == ["link", "replace", "replace"][: crash_at + 1]
    _distinct(folder)
    assert load_checkpoint(run_copy)["epoch"] in (3, 4)
    left = sorted(p.name for p in folder.iterdir() if p.name not in CHECKPOINTS)
    assert all(name.startswith((".last.pt.", ".previous.pt.")) and name.endswith(".tmp") for name in left), left


def test_a_damaged_pair_says_what_to_do(run_copy):
    """Both checkpoints unreadable (here one file under two names, as an interrupted save of an earlier
    version left them): the message names the shared file and a next step, not only '... as well'."""
    folder = run_copy / "checkpoints"
    (folder / "previous.pt").unlink()
    os.link(folder / "last.pt", folder / "previous.pt")
    _damage_in_place(folder / "last.pt")
    result = cli("eval", str(run_copy), check=False)
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "as well (previous.pt is the same file as last.pt" in result.stderr
    assert "put a sound last.pt back" in result.stderr and str(run_copy / "config.json") in result.stderr
