"""Helpers for the dataset tests: IDX bytes, copies of the real MNIST files, fake downloaders."""

from __future__ import annotations

import gzip
import shutil
import urllib.error
from pathlib import Path

import numpy as np
import pytest

MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def idx_bytes(array: np.ndarray, *, type_code: int = 0x08) -> bytes:
    """Encode ``array`` as IDX, independently of the reader: magic, big-endian dims, raw values."""
    header = bytes([0, 0, type_code, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + np.ascontiguousarray(array).tobytes()


@pytest.fixture
def make_idx():
    return idx_bytes


@pytest.fixture
def mnist_root(tmp_path: Path, shared_data: Path) -> Path:
    """A data root whose ``mnist/`` holds copies of the four real ``.gz`` files (free to damage)."""
    folder = tmp_path / "mnist"
    folder.mkdir()
    for name in MNIST_FILES:
        shutil.copyfile(shared_data / "mnist" / f"{name}.gz", folder / f"{name}.gz")
    return tmp_path


@pytest.fixture
def mnist_content(shared_data: Path):
    """``name -> uncompressed bytes`` of the real MNIST files (read on demand)."""

    def content(name: str) -> bytes:
        return gzip.decompress((shared_data / "mnist" / f"{name}.gz").read_bytes())

    return content


def offline_downloader(url: str, destination: Path) -> None:
    """Behaves like a download on a machine without network."""
    raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")


@pytest.fixture
def offline():
    return offline_downloader
