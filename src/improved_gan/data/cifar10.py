"""CIFAR-10 (Krizhevsky, 2009) from the official pickles or from a folder of ``.npz`` shards.

Sources, tried in this order under the data root:

1. The official python release, ``cifar10/cifar-10-batches-py/`` or
   ``cifar-10-batches-py/`` (``data_batch_1`` ... ``data_batch_5``,
   ``test_batch``): complete, each file checked against the release's MD5.
2. ``.npz`` shards in ``cifar10/`` (``train-*.npz``, ``test-*.npz``; see
   :mod:`improved_gan.data.shards`), the form ``../shared/data/cifar10`` takes:
   all 50,000 training images but only the first 1,000 test images. A split
   with fewer images than the official one comes back with ``partial=True`` and
   a note, so that a caller reports its error with a confidence interval.
3. Otherwise, when downloading is allowed, the official archive
   (``cifar-10-python.tar.gz``, MD5-checked) is fetched and unpacked into
   ``cifar10/cifar-10-batches-py/``.

Images are uint8 ``[N, 32, 32, 3]`` RGB; labels 0-9 = :data:`CLASS_NAMES`.
"""

from __future__ import annotations

import os
import pickle
import shutil
import tarfile
import tempfile
from pathlib import Path

import numpy as np

from improved_gan.data.dataset import ImageDataset
from improved_gan.data.download import DownloadFailed, Downloader, download_checked, missing_files_error
from improved_gan.data.files import REDOWNLOAD
from improved_gan.data.integrity import file_digest, require_digest
from improved_gan.data.shards import CHECKSUM_FILE, read_shards, shard_files
from improved_gan.errors import DataError

CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
IMAGE_SHAPE = (32, 32, 3)
OFFICIAL_SIZES = {"train": 50_000, "test": 10_000}

ARCHIVE_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
ARCHIVE_MD5 = "c58f30108f718f92721af3b95e74349a"
BATCHES_FOLDER = "cifar-10-batches-py"
SPLIT_BATCHES = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}
BATCH_MD5 = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
}
"""MD5 of each file of the official python release (as torchvision checks them)."""

_RELEASE = "the official CIFAR-10 python release"


# --- the official pickles ---------------------------------------------------------------------


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Unpickles dicts, lists, strings and numpy arrays; refuses every other class (no code runs)."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"it references {module}.{name}, which a CIFAR-10 batch never holds")


def read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One official batch file: images uint8 ``[N, 32, 32, 3]``, labels int64 ``[N]``.

    The file is a pickled dict with ``data``, uint8 ``[N, 3072]`` (each row the
    1024 red, then green, then blue values of a 32x32 image, row-major) and
    ``labels``, ``N`` ints in 0-9.
    """
    try:
        with open(path, "rb") as f:
            batch = _ArrayOnlyUnpickler(f, encoding="latin1").load()
    except OSError as err:
        raise DataError(f"{path}: cannot be read ({err.strerror or err}).") from err
    except Exception as err:  # a damaged pickle can fail with almost any exception type
        reason = f"{type(err).__name__}: {err}"
        raise DataError(f"{path}: not a readable CIFAR-10 batch ({reason}). {REDOWNLOAD}") from err
    if not isinstance(batch, dict):
        raise DataError(f"{path}: holds a {type(batch).__name__}, not the dict of a CIFAR-10 batch. {REDOWNLOAD}")
    batch = {key.decode("latin1") if isinstance(key, bytes) else key: value for key, value in batch.items()}
    missing = [key for key in ("data", "labels") if key not in batch]
    if missing:
        raise DataError(f"{path}: the batch lacks {', '.join(map(repr, missing))}. {REDOWNLOAD}")
    data = batch["data"]
    try:
        labels = np.asarray(batch["labels"])
    except ValueError as err:  # e.g. ragged nested lists
        raise DataError(f"{path}: 'labels' is not a list of integers ({err}). {REDOWNLOAD}") from err
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        got = f"{data.dtype} {list(data.shape)}" if isinstance(data, np.ndarray) else type(data).__name__
        raise DataError(f"{path}: 'data' is {got}; expected uint8 [N, 3072]. {REDOWNLOAD}")
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer) or len(labels) != len(data):
        raise DataError(
            f"{path}: 'labels' must be {len(data):,} integers, one per image "
            f"(got {labels.dtype} {list(labels.shape)}). {REDOWNLOAD}"
        )
    if len(labels) and (labels.min() < 0 or labels.max() > 9):
        raise DataError(f"{path}: labels span {labels.min()}..{labels.max()}, outside 0..9. {REDOWNLOAD}")
    images = np.ascontiguousarray(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))  # [N, 32, 32, 3]
    return images, labels.astype(np.int64)


def _read_pickles(folder: Path, split: str) -> tuple[np.ndarray, np.ndarray, list[Path]]:
    paths = [folder / name for name in SPLIT_BATCHES[split]]
    absent = [path.name for path in paths if not path.is_file()]
    if absent:
        raise DataError(
            f"{folder}: incomplete CIFAR-10 release, {', '.join(absent)} missing. Delete the folder to download "
            "it again, or copy the missing files in."
        )
    images, labels = [], []
    for path in paths:
        x, y = read_batch(path)
        # Structure first (its errors say exactly what is wrong), then the content digest.
        require_digest(path, file_digest(path, "md5"), BATCH_MD5[path.name], algorithm="md5", release=_RELEASE)
        images.append(x)
        labels.append(y)
    return np.concatenate(images), np.concatenate(labels), paths


# --- download -----------------------------------------------------------------------------------


def _check_archive(path: Path) -> None:
    require_digest(path, file_digest(path, "md5"), ARCHIVE_MD5, algorithm="md5", release=_RELEASE)


def _download_release(root: Path, downloader: Downloader) -> Path:
    """Fetch and unpack the official archive; returns ``<root>/cifar10/cifar-10-batches-py``."""
    folder = root / "cifar10"
    archive = folder / "cifar-10-python.tar.gz"
    download_checked([ARCHIVE_URL], archive, check=_check_archive, downloader=downloader)
    staging = Path(tempfile.mkdtemp(prefix=".extract-", dir=folder))
    try:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(staging, filter="data")
        os.replace(staging / BATCHES_FOLDER, folder / BATCHES_FOLDER)
    except (OSError, tarfile.TarError, EOFError) as err:
        raise DataError(f"{archive}: could not be unpacked ({err}). {REDOWNLOAD}") from err
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        archive.unlink(missing_ok=True)
    return folder / BATCHES_FOLDER


# --- the loader ---------------------------------------------------------------------------------


def _dataset(
    split: str, images: np.ndarray, labels: np.ndarray, files: list[Path], note: str, partial: bool
) -> ImageDataset:
    return ImageDataset(
        name="cifar10",
        split=split,
        images=images,
        labels=labels,
        num_classes=10,
        class_names=CLASS_NAMES,
        partial=partial,
        note=note,
        sources=tuple(str(path) for path in files),
    )


def _from_shards(folder: Path, split: str) -> ImageDataset:
    release = f"the digests listed in {folder / CHECKSUM_FILE}"
    images, labels, files = read_shards(folder, split, image_shape=IMAGE_SHAPE, num_classes=10, release=release)
    official = OFFICIAL_SIZES[split]
    if len(labels) > official:
        raise DataError(
            f"{folder}: the {split}-*.npz shards hold {len(labels):,} images, more than the {official:,} "
            f"of the CIFAR-10 {split} set; remove the extra shards."
        )
    partial = len(labels) < official
    note = f"CIFAR-10 {split} set, {len(labels):,} images (npz shards in {folder})"
    if partial:
        note = (
            f"CIFAR-10 {split} set: {len(labels):,} of the official {official:,} images (npz shards in {folder}); "
            "report errors on it with their confidence interval"
        )
    return _dataset(split, images, labels, files, note, partial)


def _fetch_or_fail(root: Path, split: str, *, download: bool, downloader: Downloader) -> Path:
    failed: tuple[str, ...] = ()
    if download:
        try:
            return _download_release(root, downloader)
        except DownloadFailed as err:
            failed = err.attempts
    raise missing_files_error(
        "CIFAR-10",
        [root / "cifar10" / BATCHES_FOLDER, root / BATCHES_FOLDER, root / "cifar10" / f"{split}-*.npz"],
        how_to_supply=(
            f"Unpack the official cifar-10-python.tar.gz into {root / 'cifar10'}/ or put .npz shards (arrays x, y) "
            "there, or point --data-dir DIR or the environment variable IMPROVED_GAN_DATA=DIR at a folder "
            "holding cifar10/."
        ),
        failed_downloads=failed,
    )


def load_cifar10(root: Path, split: str, *, download: bool, downloader: Downloader) -> ImageDataset:
    """CIFAR-10 ``split`` (``"train"`` or ``"test"``) from the first source found (module docstring)."""
    shard_folder = root / "cifar10"
    pickles = next((f for f in (root / "cifar10" / BATCHES_FOLDER, root / BATCHES_FOLDER) if f.is_dir()), None)
    if pickles is None and (shard_files(shard_folder, "train") or shard_files(shard_folder, "test")):
        return _from_shards(shard_folder, split)
    if pickles is None:
        pickles = _fetch_or_fail(root, split, download=download, downloader=downloader)
    images, labels, files = _read_pickles(pickles, split)
    return _dataset(split, images, labels, files, f"CIFAR-10 {split} set (official release in {pickles})", False)
