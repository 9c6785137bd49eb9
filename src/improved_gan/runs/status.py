"""What state a run folder is in, read from the folder alone (for ``improved-gan runs``).

- ``running``: a live process holds ``running.pid`` (:mod:`~improved_gan.runs.guard`);
- ``finished``: its metrics reach ``config.epochs``;
- ``unfinished``: anything less (stopped, crashed, or not yet past its first epoch);
- ``damaged``: its config, metrics or checkpoints cannot be read, or a path it writes is a symbolic link
  (:func:`~improved_gan.runs.guard.check_run_links`: resume, report and score refuse it) or of the wrong kind
  (the reason is given).

Apart from that state, a run that plays the K+1 game has ``failure`` set once D overpowered G
(:mod:`~improved_gan.runs.failures`): ``runs`` shows it as ``FAILED``, running or not.

A run whose ``last.pt`` is damaged but whose ``previous.pt`` is sound is ``unfinished``
(a resume goes back to that epoch), with the reason in ``problem``. Checkpoints are
read with their tensors memory-mapped, so a listing of large runs stays quick.

The module imports no torch, so ``runs`` on a folder that holds no run answers at once;
:func:`run_status` imports the checkpoint reader (torch), and the failure rule its loss, when it
is asked about a run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from improved_gan.config import load_config
from improved_gan.errors import UserError
from improved_gan.runs.failures import run_failure
from improved_gan.runs.guard import check_run_links, running_pid, wrong_kinds
from improved_gan.runs.layout import CONFIG, lost_its_config, read_metrics

SKIPPED = {"tensorboard", "samples", "checkpoints", ".git", "__pycache__", ".venv", "node_modules"}


@dataclass
class RunStatus:
    path: Path
    status: str                       # running, finished, unfinished or damaged
    epochs_done: int = 0
    epochs: int = 0
    preset: str = ""
    dataset: str = ""
    labels: int | None = None
    seed: int | None = None
    test_errors: int | None = None
    test_examples: int | None = None
    problem: str = ""
    failure: str = ""                 # how D overpowered G (runs/failures.py), or "" when it did not
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": str(self.path), "status": self.status, "epochs_done": self.epochs_done, "epochs": self.epochs,
            "preset": self.preset, "dataset": self.dataset, "labels": self.labels, "seed": self.seed,
            "test_errors": self.test_errors, "test_examples": self.test_examples, "problem": self.problem,
            "failed": bool(self.failure), "failure": self.failure,
        }  # fmt: skip


def run_status(folder: Path) -> RunStatus:
    """The status of the run in ``folder`` (module docstring); never raises for a damaged run."""
    try:
        config = load_config(folder / CONFIG)
    except UserError as err:
        return RunStatus(folder, "damaged", problem=_within(folder, err))
    status = RunStatus(folder, "unfinished", epochs=config.epochs, preset=config.preset, dataset=config.dataset,
                       labels=config.labels, seed=config.seed)  # fmt: skip
    try:
        rows = read_metrics(folder)
    except UserError as err:
        status.status, status.problem = "damaged", _within(folder, err)
        return status
    if rows:
        last = rows[-1]
        status.epochs_done = int(last["epoch"])
        status.test_errors, status.test_examples = last.get("test_errors"), last.get("test_examples")
        failure = run_failure(config, rows)
        status.failure = failure.describe() if failure else ""
    if running_pid(folder) is not None:
        status.status = "running"
        return status
    try:  # a link where the run writes: resume, report and score refuse the run until it is replaced
        check_run_links(folder)
    except UserError as err:
        status.status, status.problem = "damaged", _within(folder, err)
        return status
    wrong = wrong_kinds(folder)
    if wrong:
        status.status, status.problem = "damaged", "; ".join(wrong)
        return status
    problem, resumes_at = _checkpoint_problem(folder, status.epochs_done, config.checkpoint_every)
    if resumes_at is None and problem:
        status.status, status.problem = "damaged", problem
        return status
    if not problem and resumes_at is not None:
        problem = _metrics_beside_checkpoint(status.epochs_done, resumes_at, config.checkpoint_every)
    if problem:  # last.pt damaged (previous.pt sound), or metrics that disagree: the checkpoint's epoch counts
        status.epochs_done, status.problem = resumes_at, problem
    if status.epochs_done >= config.epochs:
        status.status = "finished"
    return status


def _metrics_beside_checkpoint(metrics_epoch: int, checkpoint_epoch: int, every: int) -> str:
    """Why metrics.jsonl's last epoch cannot go with the checkpoint's (behind it, or further ahead than the
    ``every`` epochs between checkpoints allow), or ""."""
    if checkpoint_epoch <= metrics_epoch < checkpoint_epoch + every:
        return ""
    reaches = f"reaches epoch {metrics_epoch}" if metrics_epoch else "holds no epoch"
    return (f"metrics.jsonl {reaches} but the checkpoint holds epoch {checkpoint_epoch}; "
            "`improved-gan resume` rewrites it from the checkpoint")


def _checkpoint_problem(folder: Path, epochs_done: int, every: int) -> tuple[str, int | None]:
    """(what is wrong with the run's checkpoints, or "", the epoch a resume continues from, or None);
    ``every``: the run's ``checkpoint_every`` (before that many epochs, no checkpoint is expected)."""
    from improved_gan.runs import checkpoint as ckpt

    if ckpt.latest_checkpoint(folder) is None:
        if epochs_done >= every:
            return f"its metrics reach epoch {epochs_done} but {ckpt.CHECKPOINTS}/ holds no checkpoint", None
        return "", None
    fallbacks: list[str] = []
    try:
        state = ckpt.load_checkpoint(folder, on_fallback=fallbacks.append, mmap=True)
    except UserError as err:
        return _within(folder, err), None
    return (_within(folder, fallbacks[0]) if fallbacks else ""), int(state["epoch"])


def _within(folder: Path, err: Exception | str) -> str:
    """The error's message with the folder's own path left out (the listing names the folder)."""
    return str(err).replace(f"{folder}{os.sep}", "")


def find_runs(root: Path, *, max_depth: int = 4, _seen: set[Path] | None = None) -> Iterator[Path]:
    """Folders under ``root`` (itself included) holding a ``config.json`` (or a run's other files without it:
    :func:`~improved_gan.runs.layout.lost_its_config`), in name order, to ``max_depth``.
    A folder reached twice through links (``loop/up -> ..``) is listed once, where it is first met."""
    root = Path(root)
    seen = set() if _seen is None else _seen
    real = root.resolve()
    if real in seen or root.is_symlink() and any(real in folder.parents for folder in seen):
        return  # met already, or a link up to a folder above one met (a loop)
    seen.add(real)
    if (root / CONFIG).exists() or lost_its_config(root):  # a config.json that is a folder, or none: as damaged
        yield root
        return
    if max_depth == 0:
        return
    try:
        children = sorted(p for p in root.iterdir() if p.is_dir() and p.name not in SKIPPED)
    except OSError:
        return
    for child in children:
        if not os.access(child, os.R_OK | os.X_OK):
            continue
        yield from find_runs(child, max_depth=max_depth - 1, _seen=seen)
