"""SVHN cropped digits (Netzer et al., 2011) from the official ``.mat`` files.

``train_32x32.mat`` (73,257 images) and ``test_32x32.mat`` (26,032) are looked
for as ``<root>/svhn/FILE`` and ``<root>/FILE`` (torchvision's layout), and
downloaded, when allowed, to ``<root>/svhn/FILE``. The ``extra`` set is not
used: the paper's runs train on ``train`` only (docs/reference.md).

Each file is a MATLAB v5 file with ``X``, uint8 ``[32, 32, 3, N]``, and ``y``,
``[N, 1]`` labels in 1-10, where 10 stands for the digit 0; the loader returns
images ``[N, 32, 32, 3]`` and labels 0-9 (label = digit). Files are checked
structurally, then against the release's MD5.

No SVHN data is available on the machines this project is developed on: the
tests use small generated ``.mat`` files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from improved_gan.data.dataset import ImageDataset
from improved_gan.data.download import Downloader, find_or_fetch
from improved_gan.data.files import REDOWNLOAD
from improved_gan.data.integrity import file_digest, require_digest
from improved_gan.errors import DataError

CLASS_NAMES = tuple("0123456789")  # the digits, as strings
SPLIT_FILES = {"train": "train_32x32.mat", "test": "test_32x32.mat"}
URL = "http://ufldl.stanford.edu/housenumbers/"
FILE_MD5 = {
    "train_32x32.mat": "e26dedcc434d2e4c54c9b2d4a06d8373",
    "test_32x32.mat": "eb5a983be6a315427106f1b164d9cef3",
}
"""MD5 of the official files (as torchvision checks them)."""

_RELEASE = "the official SVHN release"


def read_svhn_mat(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One SVHN ``.mat`` file: images uint8 ``[N, 32, 32, 3]``, labels int64 ``[N]`` in 0-9."""
    import scipy.io  # imported here: only SVHN needs it

    try:
        content = scipy.io.loadmat(path)
    except NotImplementedError as err:  # scipy's answer to MATLAB v7.3 (HDF5) files
        raise DataError(
            f"{path}: a MATLAB v7.3 (HDF5) file; the official SVHN files are MATLAB v5. {REDOWNLOAD}"
        ) from err
    except Exception as err:  # a damaged .mat file can fail with almost any exception type
        raise DataError(f"{path}: not a readable .mat file ({type(err).__name__}: {err}). {REDOWNLOAD}") from err
    missing = [key for key in ("X", "y") if key not in content]
    if missing:
        present = ", ".join(key for key in content if not key.startswith("__")) or "nothing"
        raise DataError(f"{path}: lacks the variable(s) {', '.join(missing)} (it holds: {present}). {REDOWNLOAD}")
    images, labels = content["X"], content["y"]
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[:3] != (32, 32, 3):
        raise DataError(
            f"{path}: X is {images.dtype} {list(images.shape)}; expected uint8 [32, 32, 3, N]. {REDOWNLOAD}"
        )
    count = images.shape[3]
    if labels.shape not in ((count, 1), (count,)) or not np.issubdtype(labels.dtype, np.number):
        raise DataError(
            f"{path}: y is {labels.dtype} {list(labels.shape)}; expected {count:,} numeric labels, one per image "
            f"([{count}, 1]). {REDOWNLOAD}"
        )
    labels = labels.reshape(-1)
    if count and (labels.min() < 1 or labels.max() > 10 or np.any(labels != np.round(labels))):
        raise DataError(
            f"{path}: labels must be integers in 1..10 (10 = digit 0); found values in {labels.min()}..{labels.max()}"
            f"{'' if np.all(labels == np.round(labels)) else ', some not whole numbers'}. {REDOWNLOAD}"
        )
    digits = labels.astype(np.int64) % 10  # 10 -> 0
    return np.ascontiguousarray(images.transpose(3, 0, 1, 2)), digits  # [N, 32, 32, 3]


def _check_file(path: Path) -> None:
    require_digest(path, file_digest(path, "md5"), FILE_MD5[path.name], algorithm="md5", release=_RELEASE)


def locate_svhn_file(root: Path, name: str, *, download: bool, downloader: Downloader) -> Path:
    """The path of SVHN file ``name`` under ``root``, downloading it if allowed and missing."""
    return find_or_fetch(
        [root / "svhn" / name, root / name],
        what=f"SVHN file {name}",
        how_to_supply=(
            f"Put train_32x32.mat and test_32x32.mat (from {URL}) in {root / 'svhn'}/, or point --data-dir DIR "
            "or the environment variable IMPROVED_GAN_DATA=DIR at a folder holding svhn/."
        ),
        download=download,
        urls=[URL + name],
        destination=root / "svhn" / name,
        check=_check_file,
        downloader=downloader,
    )


def load_svhn(root: Path, split: str, *, download: bool, downloader: Downloader) -> ImageDataset:
    """SVHN ``split`` (``"train"`` or ``"test"``) as uint8 ``[N, 32, 32, 3]``, labels 0-9."""
    path = locate_svhn_file(root, SPLIT_FILES[split], download=download, downloader=downloader)
    images, labels = read_svhn_mat(path)
    _check_file(path)  # structure first (its errors say exactly what is wrong), then the digest
    return ImageDataset(
        name="svhn",
        split=split,
        images=images,
        labels=labels,
        num_classes=10,
        class_names=CLASS_NAMES,
        note=f"SVHN {split} set, {len(labels):,} images",
        sources=(str(path),),
    )
