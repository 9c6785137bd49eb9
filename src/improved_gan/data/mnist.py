"""MNIST from the four standard IDX files (LeCun, Cortes and Burges).

Each file is looked for, in this order, as ``<root>/mnist/NAME``,
``<root>/mnist/NAME.gz``, ``<root>/MNIST/raw/NAME`` and
``<root>/MNIST/raw/NAME.gz`` (the last two are torchvision's layout), where
``NAME`` is e.g. ``train-images-idx3-ubyte``. A missing file is downloaded, when
allowed, to ``<root>/mnist/NAME.gz``.

Content is verified by the MD5 of the *uncompressed* bytes, which the official
release publishes: gzip wrappers made by different tools differ byte for byte
while holding the same content, so a check of the ``.gz`` file would reject
good copies. Every load parses strictly (see :mod:`improved_gan.data.idx`) and
then checks these digests, so a damaged or foreign file never trains a model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from improved_gan.data.dataset import ImageDataset
from improved_gan.data.download import Downloader, find_or_fetch
from improved_gan.data.files import REDOWNLOAD, read_file_bytes
from improved_gan.data.idx import parse_idx
from improved_gan.data.integrity import md5_hex, require_digest
from improved_gan.errors import DataError

IMAGE_SIZE = 28
CLASS_NAMES = tuple("0123456789")  # the digits, as strings

SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
"""``split -> (image file, label file)``, names without ``.gz``."""

UNCOMPRESSED_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
"""MD5 of each file's uncompressed content, as published with the official release."""

MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
"""Where the ``.gz`` files are downloaded from, tried in order (torchvision's mirrors)."""

_RELEASE = "the official MNIST release"


def candidate_paths(root: Path, name: str) -> list[Path]:
    """Every path where MNIST file ``name`` may lie, in the order they are tried."""
    folders = (root / "mnist", root / "MNIST" / "raw")
    return [folder / filename for folder in folders for filename in (name, f"{name}.gz")]


def _how_to_supply(root: Path) -> str:
    return (
        f"Put the four MNIST IDX files (gzip-compressed or not) in {root / 'mnist'}/, or point "
        "--data-dir DIR or the environment variable IMPROVED_GAN_DATA=DIR at a folder holding mnist/."
    )


def _require_official(path: Path, content: bytes) -> None:
    name = path.name.removesuffix(".gz")
    require_digest(
        path, md5_hex(content), UNCOMPRESSED_MD5[name], algorithm="md5 of uncompressed content", release=_RELEASE
    )


def _check_download(path: Path) -> None:
    _require_official(path, read_file_bytes(path))


def locate_mnist_file(root: Path, name: str, *, download: bool, downloader: Downloader) -> Path:
    """The path of MNIST file ``name`` under ``root``, downloading it if allowed and missing."""
    return find_or_fetch(
        candidate_paths(root, name),
        what=f"MNIST file {name}",
        how_to_supply=_how_to_supply(root),
        download=download,
        urls=[mirror + f"{name}.gz" for mirror in MIRRORS],
        destination=root / "mnist" / f"{name}.gz",
        check=_check_download,
        downloader=downloader,
    )


def load_mnist(root: Path, split: str, *, download: bool, downloader: Downloader) -> ImageDataset:
    """MNIST ``split`` (``"train"``: 60,000 images, ``"test"``: 10,000) as uint8 ``[N, 28, 28, 1]``."""
    image_name, label_name = SPLIT_FILES[split]
    image_path = locate_mnist_file(root, image_name, download=download, downloader=downloader)
    label_path = locate_mnist_file(root, label_name, download=download, downloader=downloader)

    image_content, label_content = read_file_bytes(image_path), read_file_bytes(label_path)
    images = parse_idx(image_content, path=image_path, ndim=3)  # [N, 28, 28]
    if images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise DataError(
            f"{image_path}: images are {images.shape[1]}x{images.shape[2]}; MNIST images are 28x28. {REDOWNLOAD}"
        )
    labels = parse_idx(label_content, path=label_path, ndim=1)  # [N]
    if len(labels) and labels.max() > 9:
        first_bad = int(np.argmax(labels > 9))
        raise DataError(
            f"{label_path}: label {labels[first_bad]} at index {first_bad} is out of range; MNIST labels are 0-9. "
            f"{REDOWNLOAD}"
        )
    if len(images) != len(labels):
        raise DataError(
            f"{image_path} holds {len(images):,} images but {label_path} holds {len(labels):,} labels; "
            "the two files of a split must match. Delete both and download them again."
        )
    # Structure first (its errors say exactly what is wrong), then the content digest.
    _require_official(image_path, image_content)
    _require_official(label_path, label_content)
    return ImageDataset(
        name="mnist",
        split=split,
        images=images[..., None].copy(),  # [N, 28, 28, 1], writable, owned
        labels=labels.astype(np.int64),
        num_classes=10,
        class_names=CLASS_NAMES,
        note=f"MNIST {split} set, {len(labels):,} images",
        sources=(str(image_path), str(label_path)),
    )
