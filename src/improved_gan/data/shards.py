"""Image datasets stored as a folder of ``.npz`` shards.

A split is the files ``<split>-*.npz`` of one folder, concatenated in natural
name order (``train-2`` before ``train-10``). Each shard holds two arrays:
``x``, uint8 ``[N, H, W, C]``, and ``y``, integer ``[N]`` class labels. Arrays
are loaded with ``allow_pickle=False``: a shard can hold data, never code.

When the folder has a ``SHA256SUMS.txt`` (``sha256sum`` output: ``<hex>  <file>``
per line), every shard read must be listed there with a matching digest.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from pathlib import Path

import numpy as np

from improved_gan.data.integrity import file_digest, require_digest
from improved_gan.errors import DataError

CHECKSUM_FILE = "SHA256SUMS.txt"
_SUM_LINE = re.compile(r"^([0-9a-fA-F]{64}) [ *](.+)$")
_UNREADABLE = (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error)


def shard_files(folder: Path, split: str) -> list[Path]:
    """The shards of ``split`` in ``folder``, in natural name order."""

    def natural(path: Path) -> list[int | str]:
        return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]

    return sorted(folder.glob(f"{split}-*.npz"), key=natural)


def read_checksums(path: Path) -> dict[str, str]:
    """``file name -> sha256 hex`` from a ``sha256sum``-style file."""
    sums = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        match = _SUM_LINE.match(line)
        if match is None:
            raise DataError(
                f"{path}: line {number} is not '<64 hex digits>  <file name>' (got {line[:80]!r}); "
                "regenerate it with: sha256sum *.npz > SHA256SUMS.txt"
            )
        sums[match.group(2)] = match.group(1).lower()
    return sums


def read_shard(path: Path, *, image_shape: tuple[int, int, int], num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """One shard's images, uint8 ``[N, *image_shape]``, and labels, int64 ``[N]``, validated."""
    fix = "Delete it and write or copy it again."
    try:
        loaded = np.load(path, allow_pickle=False)
    except _UNREADABLE as err:
        raise DataError(f"{path}: not a readable .npz file ({err}). {fix}") from err
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise DataError(f"{path}: holds a single array, not an .npz archive with arrays 'x' and 'y'.")
    with loaded as archive:
        missing = [key for key in ("x", "y") if key not in archive.files]
        if missing:
            raise DataError(
                f"{path}: lacks the array(s) {', '.join(map(repr, missing))} (it holds: "
                f"{', '.join(archive.files) or 'nothing'}); a shard stores images as 'x' and labels as 'y'."
            )
        try:
            images, labels = archive["x"], archive["y"]
        except _UNREADABLE as err:
            raise DataError(f"{path}: an array in the archive cannot be read ({err}). {fix}") from err
    expected = "[N, " + ", ".join(map(str, image_shape)) + "]"
    if images.dtype != np.uint8 or images.shape[1:] != image_shape:
        raise DataError(f"{path}: 'x' is {images.dtype} {list(images.shape)}; expected uint8 {expected}.")
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise DataError(f"{path}: 'y' is {labels.dtype} {list(labels.shape)}; expected integer labels [N].")
    if len(images) != len(labels):
        raise DataError(f"{path}: 'x' holds {len(images):,} images but 'y' holds {len(labels):,} labels.")
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise DataError(f"{path}: labels span {labels.min()}..{labels.max()}, outside 0..{num_classes - 1}.")
    return images, labels.astype(np.int64)


def read_shards(
    folder: Path, split: str, *, image_shape: tuple[int, int, int], num_classes: int, release: str
) -> tuple[np.ndarray, np.ndarray, list[Path]]:
    """All shards of ``split`` in ``folder``, concatenated.

    Args:
        folder: the folder holding the shards (and possibly ``SHA256SUMS.txt``).
        split: the shard name prefix, e.g. ``"train"``.
        image_shape: ``(H, W, C)`` every image must have.
        num_classes: labels must lie in ``0 .. num_classes - 1``.
        release: what the checksum file vouches for, for error messages.

    Returns:
        images uint8 ``[N, H, W, C]``, labels int64 ``[N]``, the shard paths read.
    """
    files = shard_files(folder, split)
    if not files:
        raise DataError(f"{folder}: holds no {split}-*.npz shards.")
    sums_path = folder / CHECKSUM_FILE
    sums = read_checksums(sums_path) if sums_path.is_file() else None
    images, labels = [], []
    for path in files:
        x, y = read_shard(path, image_shape=image_shape, num_classes=num_classes)
        if sums is not None:
            if path.name not in sums:
                raise DataError(
                    f"{path}: not listed in {sums_path}; add its line (sha256sum {path.name}) "
                    "or remove the file from the folder."
                )
            require_digest(path, file_digest(path, "sha256"), sums[path.name], algorithm="sha256", release=release)
        images.append(x)
        labels.append(y)
    return np.concatenate(images), np.concatenate(labels), files
