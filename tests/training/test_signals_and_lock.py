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
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
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


@pytest.mark.parametrize("signum, status, says", [
    (signal.SIGTERM, 143, "terminated (SIGTERM)"),
    (signal.SIGHUP, 129, "terminated (SIGHUP)"),  # a closed terminal: it died silently, leaving running.pid
    pytest.param(signal.SIGINT, 130, "interrupted", marks=pytest.mark.slow),  # what SIGTERM is compared with
])
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


# -- several runs at once: demo and reproduce table1 --jobs (training/parallel_runs.py) -------------------


def _gone(pid: int) -> bool:
    """The process has ended (a zombie waiting for its reaper counts as ended)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def _workers(out: Path, process: subprocess.Popen, timeout: float = 180) -> list[int]:
    """The demo's two workers, once each holds its run's lock."""
    from improved_gan.runs.guard import running_pid

    deadline = time.monotonic() + timeout
    while True:
        pids = [running_pid(out / name) for name in ("labels-only", "k-plus-1-gan")]
        if all(pids):
            return pids
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the demo's workers did not start"
        time.sleep(0.2)


@pytest.mark.parametrize("signum, status, says", [
    (signal.SIGTERM, 143, "terminated (SIGTERM)"),
    pytest.param(signal.SIGINT, 130, "interrupted", marks=pytest.mark.slow),  # the same path as SIGTERM's
    pytest.param(signal.SIGKILL, -9, None, marks=pytest.mark.slow),
])
def test_a_stopped_demo_takes_its_workers_with_it(tmp_path, signum, status, says):
    """SIGTERM to demo's parent exited 143 and left both workers training with no parent; SIGINT said
    'interrupted' while both trained to their last epoch. Now the parent stops them (SIGKILL: the OS does,
    PR_SET_PDEATHSIG), each run keeps its checkpoint and releases its lock."""
    from improved_gan.runs.guard import running_pid

    out = tmp_path / "demo"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen([sys.executable, "-m", "improved_gan", "demo", "--epochs", "300", "--no-progress",
                                "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    workers = _workers(out, process)
    process.send_signal(signum)
    _, err = process.communicate(timeout=60)
    assert process.returncode == status, err
    if says is not None:  # what the line says follows what was kept (the workers are gone when it is decided)
        from improved_gan.runs.layout import latest_checkpoint

        kept = any(latest_checkpoint(out / name) for name in ("labels-only", "k-plus-1-gan"))
        assert err.splitlines()[-1] == (
            f"{says}: the last checkpoint is kept; run the same command again to continue both runs" if kept else
            f"{says} before either run finished its first epoch, so no checkpoint was kept; run the same command "
            "again to start over"), err
        assert "Traceback" not in err and "leaked" not in err
    deadline = time.monotonic() + (0 if says else 30)  # after SIGKILL the workers stop on their own
    while not all(map(_gone, workers)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert all(map(_gone, workers)), workers
    for run in (out / "labels-only", out / "k-plus-1-gan"):
        assert running_pid(run) is None and not (run / "running.pid").exists() and _temporaries(run) == []
