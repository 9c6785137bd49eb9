"""Several runs trained at once, one worker process each, watched from the parent.

The one way a command trains more than one run side by side (``reproduce
table1 --jobs N``, ``demo``). Each worker brings its run to its epochs with
:func:`~improved_gan.training.trainer.ensure_trained` (so a stopped command
continues where it was) on ``cores // processes`` threads, with its terminal
output silenced; the run's own ``log.txt`` keeps every line. The parent reads
the runs' ``metrics.jsonl`` and shows the progress: one bar over all epochs,
and, when asked, each new epoch as a line prefixed with the run's name.

Workers are spawned, not forked: a forked child would inherit the parent's
thread pools and RNG state. Each trains one run and sends back, over a pipe of
its own, that it finished or its error: no ``concurrent.futures`` pool and no
``multiprocessing`` queue, whose semaphores Python's resource tracker reports as
"leaked" when the parent is killed or stopped at once by a second signal.

Workers end with the parent: stopped by Ctrl-C or SIGTERM, the parent sends each
worker SIGTERM and waits for it (each run keeps its last checkpoint and releases
its lock); killed, the OS sends them SIGTERM (utils/signals.py,
``end_with_parent``). A worker that ends before its run without saying why
(killed by hand or by the OS's out-of-memory killer) is a failed run like any
other: named at once, with the signal or exit status it ended by and the
checkpoint its run keeps, while the other runs go on.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import threading
import time
import traceback
from multiprocessing import get_context
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Sequence

import torch
from tqdm.auto import tqdm

from improved_gan.config import TrainConfig
from improved_gan.errors import UserError
from improved_gan.training.data_source import check_data
from improved_gan.runs.checkpoint import load_checkpoint
from improved_gan.runs.guard import check_not_being_trained
from improved_gan.runs.layout import latest_checkpoint, read_metrics
from improved_gan.training.trainer import config_conflict, describe_epoch, ensure_trained
from improved_gan.utils.signals import STOP_SIGNALS, end_with_parent, exit_status

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


class WorkerEnded(UserError):
    """A worker process ended before its run was trained, without an error of its own: killed (by hand, by the
    OS's out-of-memory killer) or stopped alone; the message says how, and what its run keeps."""


class RemoteTraceback(Exception):
    """The traceback of an error raised in a worker, as text: that error's ``__cause__`` in the parent, so a bug's
    report shows where in the worker it happened."""

    def __str__(self) -> str:
        return "\n" + self.args[0]


def _start_worker(parent_pid: int) -> None:
    """A worker ends with its parent (utils/signals.py); its progress bars take a thread lock, not tqdm's
    default semaphore, which a worker that stops at once (``os._exit``) would leave to the OS to clean up."""
    end_with_parent(parent_pid)
    tqdm.set_lock(threading.RLock())


def _train_quietly(job: RunJob, threads: int) -> None:
    """One run in a worker process; its per-epoch lines go to its own log.txt, not the shared terminal."""
    torch.set_num_threads(threads)
    try:
        with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
            ensure_trained(job.config, job.folder, progress=False)
    except KeyboardInterrupt as stop:  # stopped (Ctrl-C, SIGTERM, the parent gone): the run has released its
        os._exit(exit_status(stop))  # lock and kept its checkpoint; end now, say nothing: the parent knows


def _work(job: RunJob, threads: int, parent_pid: int, results: Connection) -> None:
    """A worker process's whole life: train ``job``, then send ``None`` (trained) or ``(error, its traceback)``."""
    _start_worker(parent_pid)
    try:
        _train_quietly(job, threads)
        outcome = None
    except Exception as error:  # noqa: BLE001 -- every error goes to the parent, which says it or raises it
        outcome = (error, traceback.format_exc())
    try:
        results.send(outcome)
    except Exception:  # noqa: BLE001 -- an error that cannot be pickled: its type and text instead
        results.send((RuntimeError(f"{type(outcome[0]).__name__}: {outcome[0]}"), outcome[1]))


@dataclasses.dataclass
class _Worker:
    """One worker process training ``job``, and the pipe its outcome comes back by."""

    job: RunJob
    process: BaseProcess
    results: Connection
    sent: bool = False
    outcome: object = None  # once sent: None (trained) or (error, its traceback's text)

    @classmethod
    def start(cls, job: RunJob, threads: int) -> "_Worker":
        """A new worker process for ``job``, on ``threads`` threads, already started."""
        receive, send = get_context("spawn").Pipe(duplex=False)
        process = get_context("spawn").Process(target=_work, args=(job, threads, os.getpid(), send),
                                               name=f"improved-gan {job.name}")
        process.start()
        send.close()  # the worker holds the only sending end: its end is the pipe's end
        return cls(job, process, receive)

    def read(self) -> None:
        """Take the outcome, once the worker has sent it (before it exits: a large one fills the pipe)."""
        if not (self.sent or self.results.closed) and self.results.poll():
            try:
                self.outcome, self.sent = self.results.recv(), True
            except EOFError:  # ended without sending
                self.results.close()
            except Exception as error:  # noqa: BLE001 -- sent, but not readable here
                self.outcome, self.sent = (RuntimeError(f"its error could not be read back: {error}"), ""), True

    def error(self) -> BaseException | None:
        """Once the process has ended: None if its run was trained, else what went wrong."""
        self.read()
        self.results.close()
        if not self.sent:
            return WorkerEnded(f"its worker process {_ended_how(self.process.exitcode)}; {_kept(self.job.folder)}")
        if self.outcome is None:
            return None
        error, text = self.outcome
        error.__cause__ = RemoteTraceback(text) if text else None
        return error


def _ended_how(exitcode: int) -> str:
    """How a process ended, from its ``exitcode`` as multiprocessing gives it: "was killed by signal 9
    (SIGKILL)", "was stopped by SIGTERM (exit status 143)", "ended with exit status 1 ..."."""
    if exitcode < 0:
        try:
            return f"was killed by signal {-exitcode} ({signal.Signals(-exitcode).name})"
        except ValueError:  # a real-time signal: a number only
            return f"was killed by signal {-exitcode}"
    if exitcode - 128 in STOP_SIGNALS:  # a worker stops on these as on Ctrl-C: its run keeps its checkpoint
        return f"was stopped by {signal.Signals(exitcode - 128).name} (exit status {exitcode})"
    return f"ended with exit status {exitcode} before its run was trained"


def _kept(folder: Path) -> str:
    """What the run in ``folder`` keeps after its worker ended, and how to continue it."""
    if latest_checkpoint(folder) is None:
        return "it had not finished an epoch, so no checkpoint was kept: run the same command again to start it"
    try:
        epoch = load_checkpoint(folder, mmap=True, on_fallback=lambda said: None)["epoch"]
    except UserError as err:
        return f"its checkpoint cannot be read: {err}"
    return f"its last checkpoint (epoch {epoch}) is kept: run the same command again to continue it"


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

    A run that another process trains now is refused (one line naming each) before any worker starts. Every
    job's data is checked in this process first (:func:`~improved_gan.training.data_source.check_data`),
    so a label count or batch the data cannot give is one line before any worker starts. A run that
    fails later, or whose worker ends without it (killed: :class:`WorkerEnded`, which says by what and
    which checkpoint its run keeps), is named on its own line at once; the other runs go on (their
    epochs are kept), and the failure is raised when they have finished (several: one line naming each).
    """
    refuse_other_configurations(jobs)
    todo = [job for job in jobs if epochs_done(job.folder) < job.config.epochs]
    if not todo:
        return
    check_not_being_trained(job.folder for job in todo)  # another command's workers: said before any starts here
    _check_data_once(todo)
    threads = max(1, (os.cpu_count() or 1) // min(processes, len(todo)))
    shown = _Progress(jobs, todo, progress=progress, epoch_lines=epoch_lines, desc=desc)
    try:
        failures = _train_in_workers(todo, processes=processes, threads=threads, shown=shown)
    finally:
        shown.close()  # before any error is printed: it gets a line of its own
    if len(failures) == 1:
        name, error = next(iter(failures.items()))
        if isinstance(error, WorkerEnded):  # its message does not name the run: the other lines do
            others = len(todo) - 1
            finished = "" if not others else f"; the other {f'{others} runs' if others > 1 else 'run'} finished"
            raise UserError(f"{name}: {error}{finished}")
        raise error
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
    """Train ``todo`` in at most ``processes`` spawned workers at once, one per run, watched every
    :data:`POLL_SECONDS` (or as soon as one ends); the failures by run name.

    A failure, or a worker that ended without its run (:class:`WorkerEnded`), is said at once while the other
    runs go on. Stopped (Ctrl-C, SIGTERM), the workers stop with this process.
    """
    failures: dict[str, BaseException] = {}
    waiting, running, done = list(todo), [], 0
    try:
        while waiting or running:
            while waiting and len(running) < processes:
                running.append(_Worker.start(waiting.pop(0), threads))
            wait([w.process.sentinel for w in running]
                 + [w.results for w in running if not (w.sent or w.results.closed)],  # closed: at its end, read
                 timeout=POLL_SECONDS)
            for worker in running:
                worker.read()
            shown.read_epochs()
            for worker in [w for w in running if not w.process.is_alive()]:
                running.remove(worker)
                done += 1
                error = worker.error()
                if error is not None:
                    failures[worker.job.name] = error
                    if waiting or running:  # said now, not when the others have finished
                        tqdm.write(f"{worker.job.name}: failed: {error} (the other runs go on)")
            shown.show_runs_done(done)
    except BaseException:  # Ctrl-C, SIGTERM: the workers stop with this process, now (not at their last epoch)
        _stop([w.process for w in running])
        raise
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
