"""A hard link in a run folder: the files a run writes in place are refused with other names, the others are safe.

A run writes ``log.txt`` (appending) and ``running.pid`` (rewriting) in place; every other file is written to a
temporary name and renamed over (runs/layout.WRITTEN_IN_PLACE). A hard link is a second name of one file: before,
``ln ~/notes.txt RUN/log.txt`` and ``improved-gan resume RUN`` appended the run's lines to ``~/notes.txt``. A
hard-linked checkpoint (``ln RUN/checkpoints/last.pt ~/backup.pt``, a cheap backup) is safe: the rename gives
the run a new file and leaves the backup as it was, so it is not refused.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from clitools import cli


@pytest.fixture
def run_copy(tiny_run, tmp_path) -> Path:
    """A private copy of the finished 3-epoch tiny run (tests/training/conftest.py)."""
    return Path(shutil.copytree(tiny_run, tmp_path / "run"))


def _everything(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("name", ["log.txt", "running.pid"])
def test_resume_refuses_a_file_it_writes_in_place_that_has_another_name(name, run_copy, tmp_path):
    """In a fresh interpreter: one line naming the file and the link, exit 2, your file and the run unchanged."""
    mine = tmp_path / "notes.txt"
    mine.write_text("my notes\n")
    (run_copy / name).unlink(missing_ok=True)
    os.link(mine, run_copy / name)
    before = _everything(run_copy)
    result = cli("resume", str(run_copy), "--epochs", "4", "--no-progress", check=False)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip() == (
        f"error: {run_copy}: {name} has 2 names (a hard link): the trainer writes it in place, which would change "
        "the file under its other names too; move it out of the run folder and run again (nothing was changed)")
    assert mine.read_text() == "my notes\n" and _everything(run_copy) == before


def test_runs_shows_such_a_run_as_damaged_and_says_why(run_copy, tmp_path):
    mine = tmp_path / "notes.txt"
    mine.write_text("my notes\n")
    (run_copy / "log.txt").unlink()
    os.link(mine, run_copy / "log.txt")
    listing = cli("runs", str(tmp_path)).stdout
    assert "damaged" in listing and "log.txt has 2 names (a hard link)" in listing


def test_a_hard_linked_checkpoint_is_a_backup_that_resume_leaves_as_it_was(run_copy, tmp_path):
    """The run trains on (its checkpoint is written to a new file and renamed over); the backup keeps its bytes."""
    backup = tmp_path / "backup.pt"
    os.link(run_copy / "checkpoints" / "last.pt", backup)
    kept = backup.read_bytes()
    cli("resume", str(run_copy), "--epochs", "4", "--no-progress")
    last = run_copy / "checkpoints" / "last.pt"
    assert backup.read_bytes() == kept and not last.samefile(backup) and last.read_bytes() != kept
