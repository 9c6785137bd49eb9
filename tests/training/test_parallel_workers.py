"""`reproduce table1 --jobs 2` (and `demo`, the same code: training/parallel_runs.py) with real processes and
real signals: the two problems issue 26's second sweep (commit 042b9e9) left.

- One worker killed by hand (SIGKILL to its pid) made the parent report both runs as failed with Python's "A
  process in the process pool was terminated abruptly while the future was running or pending."
- A double Ctrl-C to the whole process group added multiprocessing's resource-tracker warning "There appear to
  be 5 leaked semaphore objects to clean up at shutdown" (the pool's queues: the parent, stopped at once by the
  second signal, never released them).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tiny_run import TINY_TABLE1

RUNS = ("l20-s0", "l20-s1")


def _start_table(out: Path, epochs: int, **popen) -> subprocess.Popen:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONWARNINGS"}  # as in a terminal: the
    env["OMP_NUM_THREADS"] = "1"  # resource tracker's warning is a Python warning
    return subprocess.Popen([sys.executable, "-m", "improved_gan", "reproduce", "table1", *TINY_TABLE1, "--epochs",
                             str(epochs), "--labels", "20", "--seeds", "0-1", "--jobs", "2", "--no-ensemble",
                             "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, **popen)


def _training(out: Path, process: subprocess.Popen, timeout: float = 300) -> dict[str, int]:
    """The workers' process ids by run, once both hold their runs' locks and both have kept a checkpoint."""
    from improved_gan.runs.guard import running_pid

    deadline = time.monotonic() + timeout
    while True:
        pids = {name: running_pid(out / name) for name in RUNS}
        if all(pids.values()) and all((out / name / "checkpoints" / "last.pt").exists() for name in RUNS):
            return pids
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the workers did not start"
        time.sleep(0.1)


def _runs(out: Path) -> dict[str, tuple[str, int]]:
    """(status, epochs done) of each run, as `improved-gan runs` gives them."""
    from improved_gan.runs.status import run_status

    return {name: (run_status(out / name).status, run_status(out / name).epochs_done) for name in RUNS}


def test_a_killed_worker_is_named_with_its_signal_and_the_other_run_goes_on(tmp_path):
    out = tmp_path / "table"
    process = _start_table(out, epochs=8)  # the other run's last epochs come after the kill
    workers = _training(out, process)
    os.kill(workers["l20-s0"], signal.SIGKILL)
    stdout, err = process.communicate(timeout=300)
    kept = torch.load(out / "l20-s0" / "checkpoints" / "last.pt", weights_only=False)["epoch"]
    said = (f"its worker process was killed by signal 9 (SIGKILL); its last checkpoint (epoch {kept}) is kept: run "
            "the same command again to continue it")
    assert process.returncode == 2, err
    assert err == f"error: l20-s0: {said}; the other run finished\n"  # nothing but the product's line
    assert f"l20-s0: failed: {said} (the other runs go on)\n" in stdout  # said at once
    assert _runs(out) == {"l20-s0": ("unfinished", kept), "l20-s1": ("finished", 8)}


def test_a_double_ctrl_c_to_the_process_group_leaves_only_the_product_s_line(tmp_path):
    from improved_gan.runs.guard import running_pid

    out = tmp_path / "table"
    process = _start_table(out, epochs=300, start_new_session=True)  # a terminal's process group of its own
    workers = _training(out, process)
    slow = workers["l20-s0"]
    os.kill(slow, signal.SIGSTOP)  # a worker slow to finish its step (seconds, on real data): the parent waits
    try:
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C: to the parent, its workers and the resource tracker
        deadline = time.monotonic() + 60
        while running_pid(out / "l20-s1") is not None:  # the other worker has stopped: the parent is stopping
            assert time.monotonic() < deadline, "the worker did not stop"
            time.sleep(0.05)
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C again, while the parent waits for the slow worker
        assert process.wait(timeout=60) == 130
    finally:
        os.kill(slow, signal.SIGCONT)  # it stops now (its pending Ctrl-C), or with its parent gone
    _, err = process.communicate(timeout=120)  # to the end of stderr: the workers' and the tracker's too
    assert err == ("stopped at once by a second signal during the clean-up of the first (SIGINT); what a stopped "
                   "run leaves (temporary files, its lock) its next start removes\n")
    assert {status for status, _ in _runs(out).values()} == {"unfinished"}


def test_a_second_table_into_runs_being_trained_is_refused_before_its_workers_start(tmp_path):
    """The eighth sweep: the second `reproduce` into the folder of a running one started its workers, loaded the
    data and then said "2 of 2 runs failed: ... is being trained by process N now" (23 s under load)."""
    out = tmp_path / "table"
    first = _start_table(out, epochs=300, start_new_session=True)
    try:
        workers = _training(out, first)
        second = _start_table(out, epochs=300)
        _, err = second.communicate(timeout=120)
        assert first.poll() is None, "the first command went on"
    finally:
        os.killpg(first.pid, signal.SIGTERM)
        first.communicate(timeout=120)
    assert workers  # the first command's workers held their runs: the second is refused by the first's hold on OUT
    assert (second.returncode, err) == (2, f"error: --out {out} is in use by process {first.pid} now (another "
                                           "command training its runs there); wait for it or stop it first, or "
                                           "choose another --out (nothing was started)\n")


def test_a_table_stopped_before_any_checkpoint_does_not_say_one_was_kept(tmp_path):
    """The eighth sweep: `reproduce table1 --jobs 2` stopped before either run finished an epoch said "the last
    checkpoint is kept; run the same command again to continue every unfinished run", with none kept. Real
    processes: the signal goes while both workers hold their runs (the first epoch waits on a stopped worker)."""
    from improved_gan.runs.guard import running_pid

    out = tmp_path / "table"
    process = _start_table(out, epochs=300, start_new_session=True)
    deadline = time.monotonic() + 300
    while not all(running_pid(out / name) for name in RUNS):
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.02)
    workers = [running_pid(out / name) for name in RUNS]
    for pid in workers:
        os.kill(pid, signal.SIGSTOP)  # neither finishes its first epoch before the stop
    if any((out / name / "checkpoints").exists() and any((out / name / "checkpoints").iterdir()) for name in RUNS):
        pytest.skip("a worker finished its first epoch before it could be held (a very fast machine)")
    os.kill(process.pid, signal.SIGTERM)
    for pid in workers:
        os.kill(pid, signal.SIGCONT)  # each stops on its parent's SIGTERM, before an epoch ends
    _, err = process.communicate(timeout=120)
    assert (process.returncode, err) == (143, "terminated (SIGTERM) before either run finished its first epoch, so "
                                              "no checkpoint was kept; run the same command again to start over\n")
