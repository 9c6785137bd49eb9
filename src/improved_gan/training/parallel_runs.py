"""Several runs trained at once, one worker process each, watched from the parent.

The one way a command trains more than one run side by side (``reproduce
table1 --jobs N``, ``demo``). Each worker brings its run to its epochs with
:func:`~improved_gan.training.trainer.ensure_trained` (so a stopped command
continues where it was) on ``cores // processes`` threads, with its terminal
output silenced; the run's own ``log.txt`` keeps every line. The parent reads
the runs' ``metrics.jsonl`` and shows the progress: one bar over all epochs,
and, when asked, each new epoch as a line prefixed with the run's name.

Workers are spawned, not forked: a forked child would inherit the parent's
thread pools and RNG state. They end with the parent: stopped by Ctrl-C or
SIGTERM, the parent sends each worker SIGTERM and waits for it (each run keeps
its last checkpoint and releases its lock); killed, the OS sends them SIGTERM
(utils/signals.py, ``end_with_parent``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import active_children, get_context
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Sequence

import torch
from tqdm.auto import tqdm

from improved_gan.config import TrainConfig
from improved_gan.errors import UserError
from improved_gan.training.data_source import check_data
from improved_gan.runs.layout import read_metrics
from improved_gan.training.trainer import config_conflict, describe_epoch, ensure_trained
from improved_gan.utils.signals import end_with_parent, exit_status

POLL_SECONDS = 2.0
"""How often the parent reads the runs' metrics."""

STOP_SECONDS = 30.0
"""How long a stopped worker may take to release its run before it is killed."""


@dataclasses.dataclass(frozen=True)
class RunJob:
    """One run to bring to ``config.epochs``: a name for the terminal, its config, its folder."""

    name: str
    config: TrainConfig
    folder: Path

    def rows(self) -> list[dict]:
        """The run's metrics rows so far (none before its first epoch)."""
        return read_metrics(self.folder) if self.folder.is_dir() else []


def epochs_done(folder: Path) -> int:
    """The last epoch recorded in ``folder``'s metrics (0 for a run not started)."""
    rows = read_metrics(folder) if Path(folder).is_dir() else []
    return rows[-1]["epoch"] if rows else 0


def refuse_other_configurations(jobs: Sequence[RunJob]) -> None:
    """A UserError naming the fields when a job's folder holds a run of another configuration.

    Checked for finished runs too (their numbers would otherwise be reported as this config's).
    """
    for job in jobs:
        conflict = config_conflict(job.folder, job.config)
        if conflict:
            raise UserError(conflict)


def _start_worker(parent_pid: int) -> None:
    """A worker ends with its parent (utils/signals.py); its progress bars take a thread lock, not tqdm's
    default semaphore, which a worker that stops at once (``os._exit``) would leave to the OS to clean up."""
    end_with_parent(parent_pid)
    tqdm.set_lock(threading.RLock())


def _train_quietly(job: RunJob, threads: int) -> str:
    """One run in a worker process; its per-epoch lines go to its own log.txt, not the shared terminal."""
    torch.set_num_threads(threads)
    try:
        with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
            ensure_trained(job.config, job.folder, progress=False)
    except KeyboardInterrupt as stop:  # stopped (Ctrl-C, SIGTERM, the parent gone): the run has released its
        os._exit(exit_status(stop))  # lock and kept its checkpoint; end now, not wait for another job
    return job.name


def _stop(workers: list[BaseProcess]) -> None:
    """SIGTERM to each worker (its run stops as on Ctrl-C: the checkpoint kept, the lock released), then SIGKILL
    to any still there after :data:`STOP_SECONDS`."""
    for worker in workers:
        worker.terminate()
    deadline = time.monotonic() + STOP_SECONDS
    for worker in workers:
        worker.join(max(0.0, deadline - time.monotonic()))
    for worker in workers:
        if worker.is_alive():
            worker.kill()
            worker.join()


def train_in_parallel(
    jobs: Sequence[RunJob],
    *,
    processes: int,
    progress: bool = True,
    epoch_lines: bool = False,
    desc: str = "runs",
) -> None:
    """Bring every job to its epochs, ``processes`` at a time, each on ``cores // processes`` threads.

    Args:
        jobs: the runs; finished ones are skipped, unfinished ones continue, and a folder holding
            a run of another configuration is refused (a UserError naming the fields) before any starts.
        processes: worker processes at once, at least 1 (``reproduce table1 --jobs`` checks its flag).
        progress: a live bar over all epochs, with runs done and the time left at this pace.
        epoch_lines: print each new epoch of each run as ``NAME: epoch k/N: ...`` (kept with
            ``progress`` off, so a log shows the work).
        desc: the bar's label.

    Every job's data is checked in this process first (:func:`~improved_gan.training.data_source.check_data`),
    so a label count or batch the data cannot give is one line before any worker starts. A run that
    fails later is named on its own line at once; the other runs go on (their epochs are kept), and
    the first failure is raised when they have finished.
    """
    refuse_other_configurations(jobs)
    todo = [job for job in jobs if epochs_done(job.folder) < job.config.epochs]
    if not todo:
        return
    _check_data_once(todo)
    threads = max(1, (os.cpu_count() or 1) // min(processes, len(todo)))
    shown = _Progress(jobs, todo, progress=progress, epoch_lines=epoch_lines, desc=desc)
    try:
        failures = _train_in_workers(todo, processes=processes, threads=threads, shown=shown)
    finally:
        shown.close()  # before any error is printed: it gets a line of its own
    if len(failures) == 1:
        raise next(iter(failures.values()))
    if failures:
        raise UserError(f"{len(failures)} of {len(todo)} runs failed: "
                        + "; ".join(f"{name}: {error}" for name, error in failures.items()))


class _Progress:
    """The parent's view of the runs: one bar over all epochs and, with ``epoch_lines``, a line per new epoch."""

    def __init__(self, jobs: Sequence[RunJob], todo: Sequence[RunJob], *, progress: bool, epoch_lines: bool,
                 desc: str) -> None:
        self.jobs, self.todo, self.epoch_lines = jobs, todo, epoch_lines
        self.printed = {job.name: epochs_done(job.folder) for job in jobs}
        self.finished = len(jobs) - len(todo)
        self.bar = tqdm(total=sum(job.config.epochs for job in jobs), initial=self._epochs(), unit="epoch",
                        desc=desc, disable=not progress, dynamic_ncols=True)  # fmt: skip

    def _epochs(self) -> int:
        """Epochs done over all runs, each counted up to its target."""
        return sum(min(self.printed[job.name], job.config.epochs) for job in self.jobs)

    def read_epochs(self) -> None:
        """Read the runs' metrics: print each new epoch (with ``epoch_lines``) and move the bar."""
        for job in self.todo:
            for row in job.rows():
                if row["epoch"] > self.printed[job.name]:
                    self.printed[job.name] = row["epoch"]
                    if self.epoch_lines:
                        tqdm.write(f"{job.name}: {describe_epoch(row, of=job.config.epochs)}")
        self.bar.n = self._epochs()

    def show_runs_done(self, done: int) -> None:
        """Runs done so far (those finished before this call included) beside the bar."""
        self.bar.set_postfix_str(f"runs {self.finished + done}/{len(self.jobs)}", refresh=True)

    def close(self) -> None:
        """Close the bar."""
        self.bar.close()


def _train_in_workers(todo: Sequence[RunJob], *, processes: int, threads: int,
                      shown: _Progress) -> dict[str, BaseException]:
    """Train ``todo`` in ``processes`` spawned workers, polled every :data:`POLL_SECONDS`; the failures by run name.

    A failure is said at once while other runs go on. Stopped (Ctrl-C, SIGTERM), the workers stop with this process.
    """
    failures: dict[str, BaseException] = {}
    before = set(active_children())
    pool = ProcessPoolExecutor(max_workers=processes, mp_context=get_context("spawn"),
                               initializer=_start_worker, initargs=(os.getpid(),))
    try:
        futures = {pool.submit(_train_quietly, job, threads): job for job in todo}
        while True:
            shown.read_epochs()
            done = sum(f.done() for f in futures)
            for future, job in futures.items():
                if future.done() and future.exception() is not None and job.name not in failures:
                    failures[job.name] = future.exception()
                    if done < len(futures):  # said now, not when the others have finished
                        tqdm.write(f"{job.name}: failed: {future.exception()} (the other runs go on)")
            shown.show_runs_done(done)
            if done == len(futures):
                break
            time.sleep(POLL_SECONDS)
    except BaseException:  # Ctrl-C, SIGTERM: the workers stop with this process, now (not at their last epoch)
        _stop([w for w in active_children() if w not in before])
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return failures


def _check_data_once(jobs: Sequence[RunJob]) -> None:
    """:func:`~improved_gan.training.data_source.check_data` for each distinct data setting among ``jobs``."""
    seen = set()
    for job in jobs:
        c = job.config
        key = (c.dataset, c.data_dir, c.train_split, c.eval_split, c.labels, c.batch_size, c.mode)
        if key not in seen:
            seen.add(key)
            check_data(c)
