"""The folder where scoring caches live: trained classifiers and reference statistics.

``$IMPROVED_GAN_CACHE`` when set (and not empty), else ``~/.cache/improved-gan``
(the data root's default parent too, see :mod:`improved_gan.data.root`).
Everything in it can be deleted; it is rebuilt on demand.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["CACHE_ENV", "cache_root", "classifier_cache_dir"]

CACHE_ENV = "IMPROVED_GAN_CACHE"
"""Environment variable naming the cache root."""


def cache_root() -> Path:
    """``$IMPROVED_GAN_CACHE``, else ``~/.cache/improved-gan``, as an absolute path."""
    return Path(os.environ.get(CACHE_ENV) or "~/.cache/improved-gan").expanduser().absolute()


def classifier_cache_dir() -> Path:
    """``$IMPROVED_GAN_CACHE/classifiers``, default ``~/.cache/improved-gan/classifiers`` (light: ``classifier
    train`` checks it before torch is imported)."""
    return cache_root() / "classifiers"
