"""Feature statistics of a real dataset split, computed once per scoring network and cached.

A Frechet distance compares samples with real images; the real side is the
same every time (e.g. the 60,000 MNIST training digits, the 50,000 CIFAR-10
training images), so its mean and covariance are cached as
``$IMPROVED_GAN_CACHE/reference-stats/<network>-<weights sha16>-<dataset>-<split>.npz``
(written atomically). The key names the network's exact weights, so new
weights never reuse old statistics; the dataset loaders verify their files, so
the split's content is fixed by its name.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
from torch import nn

from improved_gan.data import load_dataset
from improved_gan.metrics.cache import cache_root
from improved_gan.metrics.classifier import weights_digest
from improved_gan.metrics.evaluate import network_statistics
from improved_gan.metrics.frechet import FeatureStatistics
from improved_gan.utils.atomic import atomic_open

__all__ = ["dataset_statistics", "network_fingerprint", "statistics_path"]


def network_fingerprint(network: nn.Module) -> str:
    """SHA-256 naming a scoring network's weights (the Inception file's, or the classifier's digest)."""
    sha256 = getattr(network, "weights_sha256", None)
    if sha256 is not None:
        return sha256

    return weights_digest(network)


def statistics_path(network_name: str, network: nn.Module, dataset: str, split: str) -> Path:
    """Where the statistics of ``network`` over ``dataset:split`` are cached."""
    name = f"{network_name}-{network_fingerprint(network)[:16]}-{dataset}-{split}.npz"
    return cache_root() / "reference-stats" / name


def dataset_statistics(
    network_name: str,
    network: nn.Module,
    dataset: str,
    *,
    split: str = "train",
    data_dir: str | os.PathLike | None = None,
    batch_size: int = 100,
    device=None,
    progress: bool = False,
) -> FeatureStatistics:
    """Feature statistics of ``network`` over a whole dataset split, from the cache when there."""
    path = statistics_path(network_name, network, dataset, split)
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as cached:
                return FeatureStatistics(cached["mean"], cached["covariance"], int(cached["count"]))
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):  # a damaged cache file: made again
            pass

    images = load_dataset(dataset, root=data_dir, split=split).images
    stats = network_statistics(network, images, batch_size=batch_size, device=device, progress=progress)
    with atomic_open(path, "wb") as f:
        np.savez(f, mean=stats.mean, covariance=stats.covariance, count=stats.count)
    return stats
