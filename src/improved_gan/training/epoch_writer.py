"""What the end of an epoch leaves in a run folder, in one order, for every trainer that writes run folders.

The order is the run folder's contract with a resume: the epoch's sample grid, then the checkpoint (when due),
then ``metrics.jsonl``, then the epoch's line in ``log.txt``. ``metrics.jsonl`` never runs ahead of the
checkpoint (a resume rewrites it from the checkpoint's history, so a kill between the two loses nothing), and
a grid of an epoch that no checkpoint holds is written again by the resume that trains that epoch again.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from improved_gan.config import TrainConfig
from improved_gan.runs import checkpoint as ckpt
from improved_gan.training.pixels import to_uint8
from improved_gan.runs.layout import sample_grid_path, write_metrics
from improved_gan.utils.image_grid import make_grid, save_grid


def write_sample_grid(run_dir: Path, epoch: int, samples: torch.Tensor, pixel_scale: str) -> np.ndarray:
    """``samples`` (the generator's output on the run's fixed grid z, ``[N, C, H, W]``) as the epoch's
    ``samples/epoch-NNNN.png``; returns the grid, uint8 ``[H, W, C]``."""
    images = to_uint8(samples, pixel_scale)
    save_grid(images, sample_grid_path(run_dir, epoch))
    return make_grid(images)


class EpochWriter:
    """Writes one run folder's end-of-epoch record.

    Args:
        run_dir: the run folder.
        config: the run's config (its ``checkpoint_every`` and ``epochs``).
        log: the run's ``log.txt`` logger (:func:`~improved_gan.runs.layout.open_log`).
        checkpoint_every: epochs between checkpoints; default the config's. The stacked engine checkpoints
            every epoch, so that each copy's checkpoint stays in step with the stack's own state.
    """

    def __init__(self, run_dir: Path, config: TrainConfig, log: logging.Logger, *,
                 checkpoint_every: int | None = None) -> None:
        self.run_dir, self.config, self.log = Path(run_dir), config, log
        self.checkpoint_every = config.checkpoint_every if checkpoint_every is None else checkpoint_every

    def checkpoint_due(self, epoch: int) -> bool:
        """Every ``checkpoint_every`` epochs, and after the last one."""
        return epoch % self.checkpoint_every == 0 or epoch == self.config.epochs

    def record(self, epoch: int, history: list[dict[str, Any]], state: Callable[[], dict[str, Any]],
               message: str) -> None:
        """The checkpoint (``state()``, when due), ``metrics.jsonl`` from ``history``, and ``message`` in the log."""
        if self.checkpoint_due(epoch):
            ckpt.save_checkpoint(self.run_dir, state())
        write_metrics(self.run_dir, history)
        self.log.info(message)
