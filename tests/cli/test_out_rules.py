"""Every output path of every command obeys the same rules (runs/out_paths.py), before any work (issue 26, item 8).

A table over the commands: an output inside a run folder is refused (the run holds only what its trainer
writes), and so is one that cannot be written (a read-only disk): each in one line, before anything is computed,
and nothing is written. ``games --out`` on a read-only disk computed for a minute before it failed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from clitools import fake_run, files
from tiny_run import TINY, TINY_TABLE1

GAMES = ["--steps", "5000", "--sweep", "--no-progress"]  # a minute of computing, were it not checked first

# command -> argv, given the run folder and the output path (without suffix) to name
COMMANDS = {
    "train": lambda run, out: ["train", "mnist-fm", *TINY, "--out", out],
    "demo": lambda run, out: ["demo", "--epochs", "1", "--no-progress", "--out", out],
    "reproduce table1": lambda run, out: ["reproduce", "table1", *TINY_TABLE1, "--seeds", "1", "--out", out],
    "ablate": lambda run, out: ["ablate", "table3", "--dry-run", "--out", out],
    "games": lambda run, out: ["games", *GAMES, "--out", out],
    "sample grid": lambda run, out: ["sample", str(run), "--n", "4", "--out", out + ".png"],
    "sample npz": lambda run, out: ["sample", str(run), "--n", "4", "--out", out + ".npz"],
    "sample png-folder": lambda run, out: ["sample", str(run), "--n", "4", "--format", "png-folder", "--out", out],
    "report": lambda run, out: ["report", str(run), "--out", out + ".md"],
    "classifier train": lambda run, out: ["classifier", "train", "--data-dir", "/nonexistent", "--out", out + ".pt"],
}


@pytest.fixture
def run(tmp_path) -> Path:
    return fake_run(tmp_path / "run", checkpoint=True)


def _unwritable_root() -> Path | None:
    """A folder no entry can be made in: a read-only one for a user; /sys for root (who writes anywhere else)."""
    if os.geteuid() != 0:
        folder = Path(tempfile.mkdtemp(prefix="read-only-"))
        folder.chmod(0o555)
        return folder
    try:
        os.rmdir(tempfile.mkdtemp(dir="/sys"))
    except OSError:
        return Path("/sys")
    return None


@pytest.fixture(scope="module")
def unwritable():
    folder = _unwritable_root()
    if folder is None:
        pytest.skip("no folder here refuses a new entry to this user")
    yield folder
    if folder != Path("/sys"):
        folder.chmod(0o755)
        shutil.rmtree(folder)


def _refused(capsys, argv) -> str:
    from improved_gan.cli.main import main

    assert main(argv) == 2, capsys.readouterr()
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


@pytest.mark.parametrize("command", COMMANDS)
def test_an_output_inside_a_run_folder_is_refused(command, run, capsys):
    before = files(run)
    err = _refused(capsys, COMMANDS[command](run, str(run / "samples" / "out")))
    assert f"lies inside the run folder {run}" in err and "(nothing was written)" in err
    assert files(run) == before


@pytest.mark.parametrize("command", COMMANDS)
def test_an_output_that_cannot_be_written_is_refused_before_any_work(command, run, unwritable, capsys):
    err = _refused(capsys, COMMANDS[command](run, str(unwritable / "new" / "out")))
    assert "cannot be written" in err and "nothing was computed or written" in err, err
    assert not (unwritable / "new").exists()
