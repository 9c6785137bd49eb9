"""Where the training loop's batches come from: one small contract, two sources.

The loop asks a :class:`DataSource` for the number of iterations of an epoch
and for that epoch's batches (:meth:`DataSource.batches`), and knows nothing
else of the data. Two sources fulfil it:

- :class:`InMemorySource`: MNIST, CIFAR-10, SVHN, resident on the device
  (:class:`~improved_gan.training.experiment_data.ExperimentData`), batches cut
  by :func:`~improved_gan.training.batches.epoch_plan` from the run's NumPy
  generator, exactly as the loop always did (bit for bit in one process).
- :class:`ImageFolderSource`: an ImageNet-style class folder streamed from
  disk (:class:`~improved_gan.data.image_folder.ImageFolderDataset`) through a
  :class:`~torch.utils.data.DataLoader` with worker processes.

Under ``torchrun`` both cut the *global* batch (``config.batch_size``) the
same way on every rank and hand each rank its contiguous ``1/N`` slice
(:meth:`~improved_gan.training.distributed.DistributedContext.shard`), the
``DistributedSampler`` idea with the global order kept: N ranks together see
exactly the examples one process would.
"""

from __future__ import annotations

from typing import Iterator, NamedTuple, Protocol

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader

from improved_gan.config import IMAGE_FOLDER, TrainConfig
from improved_gan.errors import ConfigError
from improved_gan.training.batches import epoch_plan, iterations_per_epoch, permutation_stream
from improved_gan.training.distributed import DistributedContext
from improved_gan.training.experiment_data import ExperimentData, load_experiment_data, load_splits
from improved_gan.training.pixels import to_model

__all__ = ["Batch", "DataSource", "ImageFolderSource", "InMemorySource", "check_data", "make_source", "open_image_folder"]


class Batch(NamedTuple):
    """One iteration's real data on this rank (``b = batch_size / world_size`` rows each)."""

    x_unl: Tensor             # [b, C, H, W] real images for D's step
    x_lab: Tensor | None      # [b, C, H, W] labeled images (semi-supervised, supervised), else None
    y_lab: Tensor | None      # [b] their classes
    x_real: Tensor            # [b, C, H, W] the real batch of G's step (feature matching)


class DataSource(Protocol):
    """What the training loop needs from its data."""

    image_shape: tuple[int, int, int]
    num_classes: int

    def iterations(self) -> int:
        """Iterations in one epoch (the same on every rank)."""

    def batches(self, epoch: int) -> Iterator[Batch]:
        """The ``iterations()`` batches of ``epoch`` (0-based) for this rank."""


class InMemorySource:
    """Batches of the in-memory datasets, cut by :func:`epoch_plan` from ``rng`` (the checkpointed generator)."""

    def __init__(
        self, data: ExperimentData, config: TrainConfig, rng: np.random.Generator, context: DistributedContext
    ) -> None:
        self.data, self.config, self.rng, self.context = data, config, rng, context
        self.image_shape = data.image_shape
        self.num_classes = data.num_classes

    def iterations(self) -> int:
        return iterations_per_epoch(len(self.data.x_unlabeled), self.config.batch_size, self.config.iters_per_epoch)

    def batches(self, epoch: int) -> Iterator[Batch]:
        data, iterations, shard = self.data, self.iterations(), self.context.shard
        plan = epoch_plan(
            self.rng,
            num_unlabeled=len(data.x_unlabeled),
            labeled_indices=data.labeled_indices,
            batch_size=self.config.batch_size,
            iterations=iterations,
        )
        for i in range(iterations):
            x_lab = y_lab = None
            if plan.labeled is not None:
                rows = shard(plan.labeled[i])
                x_lab, y_lab = data.x_unlabeled[rows], data.y_unlabeled[rows]
            x_unl = data.x_unlabeled[shard(plan.unlabeled[i])]
            yield Batch(x_unl, x_lab, y_lab, data.x_unlabeled[shard(plan.unlabeled_fm[i])])


# -- the image folder --------------------------------------------------------------------------

def open_image_folder(config: TrainConfig):
    """The config's :class:`~improved_gan.data.image_folder.ImageFolderDataset` (its folder scanned, classes checked)."""
    from improved_gan.data.image_folder import ImageFolderDataset  # torchvision: only for an image folder

    if config.data_dir is None:
        raise ConfigError(
            f"dataset={IMAGE_FOLDER} reads a class folder: give --data-dir ROOT (e.g. the ImageNet train folder, "
            "ROOT/<class>/<image>.JPEG)"
        )
    return ImageFolderDataset(
        config.data_dir, image_size=128, on_corrupt=config.corrupt_images, expected_classes=config.expected_classes
    )


def _check_folder_size(config: TrainConfig, images: int) -> None:
    """An image folder holds at least one global batch."""
    if config.batch_size > images:
        raise ConfigError(
            f"invalid configuration for this data: batch_size {config.batch_size} is larger than the "
            f"{images:,} images of {config.data_dir}"
        )


class ImageFolderSource:
    """Batches streamed from an image folder: a DataLoader with ``config.data_workers`` workers per rank.

    The epoch's order is a permutation drawn from ``(seed, epoch)`` alone (the
    same on every rank, and after a resume), tiled when an epoch is longer than
    the folder; each rank reads its slice of every global batch. Images arrive
    as uint8 and are scaled on the device (``config.pixel_scale``).
    """

    def __init__(self, config: TrainConfig, context: DistributedContext, device: torch.device) -> None:
        self.config, self.context, self.device = config, context, device
        self.dataset = open_image_folder(config)
        _check_folder_size(config, len(self.dataset))
        self.image_shape = (3, self.dataset.image_size, self.dataset.image_size)
        self.num_classes = self.dataset.num_classes
        self.labeled = config.mode == "supervised"

    def iterations(self) -> int:
        return iterations_per_epoch(len(self.dataset), self.config.batch_size, self.config.iters_per_epoch)

    def epoch_order(self, epoch: int) -> np.ndarray:
        """``[iterations, batch_size]`` image indices of ``epoch``'s global batches."""
        rng = np.random.default_rng([self.config.seed, epoch])
        total = self.iterations() * self.config.batch_size
        return permutation_stream(rng, np.arange(len(self.dataset)), total).reshape(-1, self.config.batch_size)

    def batches(self, epoch: int) -> Iterator[Batch]:
        rows = [self.context.shard(row).tolist() for row in self.epoch_order(epoch)]
        loader = DataLoader(
            self.dataset,
            batch_sampler=rows,
            num_workers=self.config.data_workers,
            pin_memory=self.device.type == "cuda",
            prefetch_factor=4 if self.config.data_workers else None,
        )
        for images, labels in loader:  # uint8 [b, H, W, 3], int64 [b]
            x = to_model(images.numpy(), self.config.pixel_scale, device=self.device)  # [b, 3, H, W]
            y = labels.to(self.device, non_blocking=True) if self.labeled else None
            yield Batch(x, x if self.labeled else None, y, x)

    def summary(self) -> str:
        """The dataset's line for the log (images, classes, unreadable files found so far)."""
        return self.dataset.summary()


def make_source(
    config: TrainConfig, context: DistributedContext, device: torch.device, rng: np.random.Generator
) -> tuple[DataSource, ExperimentData | None]:
    """The config's data source, and the in-memory data behind it (None when streamed)."""
    if config.dataset == IMAGE_FOLDER:
        return ImageFolderSource(config, context, device), None
    data = load_experiment_data(config, device=device)
    return InMemorySource(data, config, rng, context), data


def check_data(config: TrainConfig) -> dict[str, int]:
    """Read the config's data as :func:`make_source` will (the same checks, nothing kept on a device), for a
    process that starts runs elsewhere (training/parallel_runs.py); returns ``{"train": N, "test": M}``."""
    if config.dataset == IMAGE_FOLDER:  # streamed from disk: scan the folder, decode nothing
        dataset = open_image_folder(config)
        _check_folder_size(config, len(dataset))
        return {"train": len(dataset), "test": 0}
    train, test, _ = load_splits(config)
    return {"train": len(train.labels), "test": len(test.labels)}
