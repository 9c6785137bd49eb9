"""Resuming after kill -9 or Ctrl-C ends with exactly the metrics of an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from clitools import cli
from tiny_run import TINY

EPOCHS = ["--epochs", "8"]


def _history(run: Path) -> list[dict]:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    for row in rows:
        row.pop("seconds")
    return rows


def _start(run: Path) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    args = [sys.executable, "-m", "improved_gan", "train", "mnist-fm", *TINY, *EPOCHS, "--out", str(run)]
    # a shell that starts jobs in the background (nohup, CI runners) hands them SIGINT ignored,
    # and Python keeps it ignored: give the child the default disposition a terminal would
    return subprocess.Popen(
        args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.default_int_handler),
    )


def _wait_for_epochs(run: Path, proc: subprocess.Popen, epochs: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    metrics = run / "metrics.jsonl"
    while time.monotonic() < deadline:
        if metrics.is_file() and len(metrics.read_text().splitlines()) >= epochs:
            return
        if proc.poll() is not None:
            pytest.fail(f"training ended early: {proc.communicate()}")
        time.sleep(0.05)
    proc.kill()
    pytest.fail("training did not reach the epoch in time")


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> list[dict]:
    run = tmp_path_factory.mktemp("resume") / "straight"
    cli("train", "mnist-fm", *TINY, *EPOCHS, "--out", str(run))
    return _history(run)


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT], ids=["kill-9", "ctrl-c"])
def test_resumed_run_equals_uninterrupted_run(how, uninterrupted, tmp_path):
    run = tmp_path / "interrupted"
    proc = _start(run)
    _wait_for_epochs(run, proc, 1)
    proc.send_signal(how)
    _, err = proc.communicate(timeout=180)  # a loaded 2-core CI machine: Ctrl-C is handled at the next op
    assert proc.returncode != 0, "the run should have been interrupted"
    if how == signal.SIGINT:
        assert "improved-gan resume" in err and "Traceback" not in err
    done = len((run / "metrics.jsonl").read_text().splitlines())
    assert done < 8, "interrupted too late to test anything"
    cli("resume", str(run))
    assert _history(run) == uninterrupted


def test_resume_extends_a_finished_run(tmp_path):
    run = tmp_path / "short"
    cli("train", "mnist-fm", *TINY, "--epochs", "1", "--out", str(run))
    cli("resume", str(run), "--epochs", "2", "--device", "cpu")  # the run's config says auto
    assert [r["epoch"] for r in _history(run)] == [1, 2]
    config = json.loads((run / "config.json").read_text())
    assert (config["epochs"], config["device"]) == (2, "cpu")
