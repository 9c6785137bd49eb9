"""Stopping a training run, with real processes and real signals (issue 26, items 4 and 5).

SIGTERM was silent and left running.pid behind; a running.pid whose process was gone (or any live process's
id written into it) locked the run out; SIGKILL left the temporary files of atomic writes forever.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from clitools import cli
from tiny_run import TINY

LONG = [*TINY, "--epochs", "500"]  # minutes of epochs: it is stopped long before its end


def _start_train(folder: Path) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    return subprocess.Popen([sys.executable, "-m", "improved_gan", "train", "mnist-fm", *LONG, "--out", str(folder)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _wait_for(path: Path, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.1)


def _status(run: Path) -> str:
    """The status `improved-gan runs --json` gives the run (running, finished, unfinished, ...), in-process."""
    import contextlib
    import io
    import json

    from improved_gan.cli.main import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["runs", str(run.parent), "--json"]) == 0
    return next(row["status"] for row in map(json.loads, out.getvalue().splitlines()) if row["run"] == str(run))


def _one_more_epoch(run: Path) -> list[str]:
    """`resume` flags that train one epoch past the checkpoint (a stopped run reached a varying epoch)."""
    import torch

    epoch = torch.load(run / "checkpoints" / "last.pt", weights_only=False)["epoch"]
    return ["resume", str(run), "--epochs", str(epoch + 1), "--no-progress"]


def _temporaries(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*.tmp"))


@pytest.mark.parametrize("signum, status, says", [(signal.SIGTERM, 143, "terminated (SIGTERM)"),
                                                   (signal.SIGINT, 130, "interrupted")])
def test_sigterm_stops_a_training_as_ctrl_c_does(tmp_path, signum, status, says):
    run = tmp_path / "run"
    process = _start_train(run)
    _wait_for(run / "checkpoints" / "last.pt", process)
    process.send_signal(signum)
    out, err = process.communicate(timeout=60)
    assert process.returncode == status, err
    assert err.splitlines()[-1] == f"{says}: the last checkpoint is kept; continue with `improved-gan resume {run}`"
    assert not (run / "running.pid").exists() and _temporaries(run) == []


def test_a_running_pid_without_its_lock_does_not_lock_the_run_out(tiny_run, tmp_path):
    """`echo 1 > RUN/running.pid` (a live process, not a trainer): the run was 'being trained by process 1'."""
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    (run / "running.pid").write_text("1\n")
    assert _status(run) == "finished"
    cli("resume", str(run), "--epochs", "4", "--no-progress")
    assert not (run / "running.pid").exists()


def test_a_killed_trainer_leaves_nothing_that_locks_or_stays(tmp_path):
    """SIGKILL runs no clean-up: the lock dies with the process (the OS releases it), and the next start
    removes the temporary files of the writes it cut short, and only those."""
    run = tmp_path / "run"
    process = _start_train(run)
    _wait_for(run / "checkpoints" / "last.pt", process)
    assert _status(run) == "running"
    process.kill()
    process.communicate(timeout=60)
    assert (run / "running.pid").exists()  # left behind, but locked by no one
    assert _status(run) == "unfinished"
    cut_short = [run / "checkpoints" / ".last.pt.k2x9_a1q.tmp", run / ".metrics.jsonl.0b3c5d7e.tmp",
                 run / "samples" / ".epoch-0001.png.abcd1234.tmp", run / "checkpoints" / ".previous.pt.9f8e7d6c.tmp"]
    yours = [run / ".notes.txt.abcd1234.tmp", run / "checkpoints" / ".last.pt.tmp", run / "samples" / "draft.tmp"]
    for path in cut_short + yours:
        path.write_bytes(b"x" * 1000)
    cli(*_one_more_epoch(run))
    assert not any(path.exists() for path in cut_short)
    assert all(path.read_bytes() == b"x" * 1000 for path in yours)
    assert not (run / "running.pid").exists()
