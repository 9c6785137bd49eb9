"""The run folder: a self-describing record of one training run, and the one home of its names.

::

    RUN/
      config.json          the resolved TrainConfig (written first)
      metrics.jsonl        one JSON object per epoch
      log.txt              what the run printed, with times
      tensorboard/         TensorBoard event files
      checkpoints/last.pt  everything needed to resume or evaluate
      samples/epoch-NNNN.png   a sample grid per epoch
      scores.json          sample scores with their provenance (end of run, `improved-gan score`)
      report.md, *.png     the report, written at the end (and by `improved-gan report`)

``improved-gan eval RUN``, ``sample RUN``, ``score RUN`` and ``report RUN`` need
nothing but this folder.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Iterable

from improved_gan.utils.atomic import atomic_write_text

CONFIG = "config.json"
METRICS = "metrics.jsonl"
LOG = "log.txt"
TENSORBOARD = "tensorboard"
CHECKPOINTS = "checkpoints"
LAST_CHECKPOINT = "last.pt"
SAMPLES = "samples"
SCORES = "scores.json"
REPORT = "report.md"


def write_metrics(run_dir: Path, history: Iterable[dict[str, Any]]) -> None:
    """Rewrite ``metrics.jsonl`` from the full history (atomic; the history lives in checkpoints)."""
    lines = "".join(json.dumps(row, sort_keys=True) + "\n" for row in history)
    atomic_write_text(run_dir / METRICS, lines)


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    path = Path(run_dir) / METRICS
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def sample_grid_path(run_dir: Path, epoch: int) -> Path:
    return Path(run_dir) / SAMPLES / f"epoch-{epoch:04d}.png"


def open_log(run_dir: Path) -> logging.Logger:
    """A logger writing timestamped lines to ``RUN/log.txt`` (appending across resumes)."""
    logger = logging.getLogger(f"improved_gan.run.{Path(run_dir).resolve()}")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    if not logger.handlers:
        handler = logging.FileHandler(Path(run_dir) / LOG, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%d %H:%M:%S"))
        logger.addHandler(handler)
    return logger


def close_log(logger: logging.Logger) -> None:
    for handler in list(logger.handlers):
        handler.close()
        logger.removeHandler(handler)
