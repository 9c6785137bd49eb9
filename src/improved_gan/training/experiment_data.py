"""The tensors one experiment trains and evaluates on, scaled once, resident on the device.

MNIST, CIFAR-10 and SVHN fit in memory (MNIST: 60,000 x 784 float32 = 188 MB),
so the whole training and test sets are converted to the model's pixel range
once and indexed on the device: no data loading on the training step's path.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from improved_gan.config import TrainConfig
from improved_gan.data import ImageDataset, labeled_subset, load_dataset
from improved_gan.errors import ConfigError
from improved_gan.training.pixels import to_model


@dataclass
class ExperimentData:
    x_unlabeled: Tensor                 # [N, C, H, W] every training image (the unlabeled pool)
    y_unlabeled: Tensor                 # [N] their labels (only labeled_indices are ever read in training)
    labeled_indices: np.ndarray | None  # [L] the balanced labeled subset, None in GAN mode
    x_test: Tensor                      # [M, C, H, W] the evaluation split (config.eval_split)
    y_test: Tensor                      # [M]
    num_classes: int
    test_note: str = ""                 # e.g. that the test split is partial

    def to_channels_last(self) -> None:
        """Store the images channels-last (NHWC strides), which cuDNN's conv kernels prefer."""
        self.x_unlabeled = self.x_unlabeled.contiguous(memory_format=torch.channels_last)
        self.x_test = self.x_test.contiguous(memory_format=torch.channels_last)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.x_unlabeled.shape[1:])


def load_splits(config: TrainConfig) -> tuple[ImageDataset, ImageDataset, np.ndarray | None]:
    """The config's training and evaluation splits and its labeled subset (the loader's DataError when they are
    wrong), with the sizes the config asks of them checked: a batch, or weight norm's init batch, larger than the
    training set is a ConfigError."""
    train = load_dataset(config.dataset, root=config.data_dir, split=config.train_split)
    test = load_dataset(config.dataset, root=config.data_dir, split=config.eval_split)
    labeled = None
    if config.mode == "semi-supervised":
        labeled = labeled_subset(
            train.labels, config.labels, seed=config.resolved_data_seed, num_classes=train.num_classes
        )
    problems = [
        f"{name} {value} is larger than the {len(train.labels):,} training images of {config.dataset}:"
        f"{config.train_split}" + (" (the examples of weight norm's data-dependent init)" if name == "init_batch_size"
                                   else "")
        for name, value in (("batch_size", config.batch_size), ("init_batch_size", config.init_batch_size))
        if value > len(train.labels)
    ]
    if problems:
        raise ConfigError("invalid configuration for this data: " + "; ".join(problems))
    return train, test, labeled


def load_experiment_data(config: TrainConfig, *, device: torch.device) -> ExperimentData:
    train, test, labeled = load_splits(config)
    return ExperimentData(
        x_unlabeled=to_model(train.images, config.pixel_scale, device=device),
        y_unlabeled=torch.from_numpy(train.labels).to(device),
        labeled_indices=labeled,
        x_test=to_model(test.images, config.pixel_scale, device=device),
        y_test=torch.from_numpy(test.labels).to(device),
        num_classes=train.num_classes,
        test_note=getattr(test, "note", "") or "",
    )
