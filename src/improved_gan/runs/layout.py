"""The run folder: a self-describing record of one training run, and the one home of its names.

::

    RUN/
      config.json          the resolved TrainConfig (written first)
      metrics.jsonl        one JSON object per epoch
      log.txt              what the run printed, with times
      tensorboard/         TensorBoard event files
      checkpoints/last.pt  everything needed to resume or evaluate
      checkpoints/previous.pt  the checkpoint before it (used when last.pt is damaged)
      running.pid          the process training it, while it trains
      samples/epoch-NNNN.png   a sample grid per epoch
      scores.json          sample scores with their provenance (end of run, `improved-gan score`)
      report.md, *.png     the report, written at the end (and by `improved-gan report`)

``improved-gan eval RUN``, ``sample RUN``, ``score RUN`` and ``report RUN`` need
nothing but this folder.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any, Iterable

from improved_gan.errors import UserError
from improved_gan.utils.atomic import atomic_write_text, temporary_target

CONFIG = "config.json"
METRICS = "metrics.jsonl"
LOG = "log.txt"
TENSORBOARD = "tensorboard"
CHECKPOINTS = "checkpoints"
LAST_CHECKPOINT = "last.pt"
PREVIOUS_CHECKPOINT = "previous.pt"
SAMPLES = "samples"
SCORES = "scores.json"
REPORT = "report.md"
RUNNING = "running.pid"
PLOT_TEST_ERRORS = "test_errors.png"
PLOT_LOSS = {"loss_d": "loss_d.png", "loss_g": "loss_g.png"}
PLOT_MNIST_SCORE = "mnist_score.png"
PLOT_MNIST_FD = "mnist_fd.png"
PLOT_INCEPTION_SCORE = "inception_score.png"
PLOTS = (PLOT_TEST_ERRORS, *PLOT_LOSS.values(), PLOT_MNIST_SCORE, PLOT_MNIST_FD, PLOT_INCEPTION_SCORE)
"""The report's plots, beside report.md."""

RUN_FILES = frozenset({CONFIG, METRICS, LOG, SCORES, REPORT, RUNNING, *PLOTS})
RUN_FOLDERS = frozenset({TENSORBOARD, CHECKPOINTS, SAMPLES})
"""Everything a run folder may hold at its top level: a folder with anything else is not only a run."""
WRITTEN_IN_PLACE = frozenset({LOG, RUNNING})
"""The files a run changes in place (appends to, rewrites), not by replacing them: a hard link to one of them would
carry the change to the file's other name. Every other file is written to a temporary name and renamed over."""


def is_our_temporary(where: str, name: str) -> bool:
    """Whether the file ``name`` in the run's folder ``where`` ("" for the run folder itself, ``checkpoints``,
    ``samples``) is a temporary file of an atomic write of a file the trainer writes there
    (``.last.pt.k2x9_a1q.tmp`` in checkpoints/): the one rule for what a run may call its own among
    temporary files; another ``.tmp`` (a user's ``.notes.tmp``) is not."""
    target = temporary_target(name)
    if target is None:
        return False
    if where == "":
        return target in RUN_FILES
    if where == CHECKPOINTS:
        return target in (LAST_CHECKPOINT, PREVIOUS_CHECKPOINT)
    return where == SAMPLES and re.fullmatch(r"epoch-\d{4,}\.png", target) is not None


def remove_leftover_temporaries(run_dir: Path) -> list[Path]:
    """Remove the temporary files that a killed writer left in the run folder; returns their paths.

    Only files named as :func:`~improved_gan.utils.atomic.temporary_name` names them, for a file the trainer
    writes there (``.last.pt.k2x9_a1q.tmp`` in checkpoints/, ``.metrics.jsonl.0b3c5d7e.tmp``, a sample
    grid's): never another file. Call it only while holding the run (a live writer's file is not left over).
    """
    removed = []
    for where in ("", CHECKPOINTS, SAMPLES):
        folder = run_dir / where
        if not folder.is_dir() or folder.is_symlink():
            continue
        for path in folder.iterdir():
            if is_our_temporary(where, path.name) and path.is_file() and not path.is_symlink():
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed


def write_metrics(run_dir: Path, history: Iterable[dict[str, Any]]) -> None:
    """Rewrite ``metrics.jsonl`` from the full history (atomic; the history lives in checkpoints)."""
    lines = "".join(json.dumps(row, sort_keys=True) + "\n" for row in history)
    atomic_write_text(run_dir / METRICS, lines)


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    """The rows of ``metrics.jsonl``; a damaged line is a UserError naming it and the way to rebuild the file."""
    path = Path(run_dir) / METRICS
    rebuild = f"the checkpoint holds the full history: `improved-gan resume {run_dir}` rewrites the file"
    if path.is_dir():
        raise UserError(f"{path} is a folder, not the run's metrics file; move it away ({rebuild})")
    if not path.is_file():
        return []
    rows = []
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            row = err
        problem = _row_problem(row, rows[-1]["epoch"] if rows else 0)
        if problem:
            raise UserError(f"{path} line {number} is not a metrics row ({problem}); {rebuild}")
        rows.append(row)
    return rows


_COUNTS = ("test_errors", "test_examples", "iterations")
"""Row entries the trainer writes as whole numbers (read as such by `runs`, `report` and the tables)."""


def _row_problem(row: Any, previous_epoch: int) -> str | None:
    """What makes ``row`` no epoch record the trainer writes after epoch ``previous_epoch``, or None."""
    if not isinstance(row, dict):
        return str(row)[:60]
    epoch = row.get("epoch")
    if not _is_count(epoch) or epoch < 1:
        return f"epoch {epoch!r} is not an epoch number"
    if epoch <= previous_epoch:
        return f"epoch {epoch} comes after epoch {previous_epoch}"
    wrong = [key for key in _COUNTS if key in row and row[key] is not None and not _is_count(row[key])]
    wrong += [key for key, value in row.items()
              if key.startswith("loss") and value is not None and not _is_number(value)]  # fmt: skip
    if wrong:
        return f"{wrong[0]} {row[wrong[0]]!r} is not a number"
    return None


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def checkpoint_dir(run_dir: str | Path) -> Path:
    return Path(run_dir) / CHECKPOINTS


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    """``checkpoints/last.pt``, else ``previous.pt`` when only that one is there, else None. Names only, no
    torch: the folder checks (runs/guard.py) ask it before a refusal; runs/checkpoint.py reads the file."""
    for name in (LAST_CHECKPOINT, PREVIOUS_CHECKPOINT):
        path = checkpoint_dir(run_dir) / name
        if path.is_file():
            return path
    return None


def checkpoint_identity(run_dir: str | Path) -> tuple[str, int, int] | None:
    """Which checkpoint file the run's networks come from (its name, inode and size), or None: a checkpoint is
    only ever written by renaming a new file over it, so a run trained on, or replaced by ``train --overwrite``,
    has another inode (a ``touch`` of the same file changes nothing here)."""
    path = latest_checkpoint(run_dir)
    try:
        stat = path.stat() if path is not None else None
    except FileNotFoundError:  # removed between the look and the stat
        return None
    return (path.name, stat.st_ino, stat.st_size) if stat is not None else None


def lost_its_config(folder: str | Path) -> bool:
    """A run folder whose ``config.json`` is gone: it holds the ``checkpoints/`` folder and ``metrics.jsonl``
    that only a trainer writes together, but no ``config.json``."""
    folder = Path(folder)
    return not (folder / CONFIG).exists() and (folder / CHECKPOINTS).is_dir() and (folder / METRICS).is_file()


def sample_grid_path(run_dir: Path, epoch: int) -> Path:
    return Path(run_dir) / SAMPLES / f"epoch-{epoch:04d}.png"


class _RunLogHandler(logging.FileHandler):
    """``log.txt``'s handler: a line it cannot write (a full disk) is raised as the run's error, which the command
    says in one line, not printed by :mod:`logging` as a traceback while the run goes on without its log."""

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 -- logging's name
        raise  # the OSError being handled (logging calls this inside its ``except``)


def open_log(run_dir: Path) -> logging.Logger:
    """A logger writing timestamped lines to ``RUN/log.txt`` (appending across resumes); a line it cannot write
    raises (:class:`_RunLogHandler`)."""
    logger = logging.getLogger(f"improved_gan.run.{Path(run_dir).resolve()}")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    if not logger.handlers:
        handler = _RunLogHandler(Path(run_dir) / LOG, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%d %H:%M:%S"))
        logger.addHandler(handler)
    return logger


def close_log(logger: logging.Logger) -> None:
    for handler in list(logger.handlers):
        handler.close()
        logger.removeHandler(handler)
