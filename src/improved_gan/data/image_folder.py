"""An ImageNet-style image folder, streamed from disk (Section 6.5's 128x128 ImageNet).

Layout: the standard ImageNet training folder, ``ROOT/<class folder>/<image>``
with images named ``*.JPEG``, ``*.jpg``, ``*.jpeg`` or ``*.png`` (any case).
Classes are the folder names sorted (for ImageNet the synset ids
``n01440764`` ... , so label 0 is ``n01440764``); files are sorted within a
class. Files with other extensions, hidden files and files directly in
``ROOT`` are ignored (and counted in :attr:`ImageFolderDataset.ignored_files`).

Each item is decoded when it is read (the 1.28 million ImageNet training
images do not fit in memory): converted to RGB, its shorter side resized to
``resize`` (bilinear, antialiased), centre-cropped to ``image_size`` square,
and returned as ``uint8 [H, W, 3]`` like the in-memory loaders' images, with
its ``int64`` label. A :class:`torch.utils.data.DataLoader` with workers
streams it; the file list is kept in NumPy arrays (not Python lists), so
forked workers do not copy it object by object.

Strict errors (:class:`~improved_gan.errors.DataError`, one line each): a
missing root, a root without class folders, class folders without images, a
class set other than the expected one (``expected_classes``).

**Unreadable images** (truncated or corrupt JPEGs, non-image bytes): with
``on_corrupt="fail"`` (the default, as strict as the other loaders) reading
one raises a ``DataError`` naming the file. With ``on_corrupt="skip"`` it is
replaced by the next readable image *of the same class* (so no class is
dropped and labels stay right), and it is recorded in a table shared with the
DataLoader's worker processes: :meth:`ImageFolderDataset.corrupt_files` and
:meth:`~ImageFolderDataset.summary` report every unreadable file found so far,
from whichever process read it. A class whose every image is unreadable is a
``DataError`` in both modes: training never silently loses a class. Nothing
is decoded up front (that would read all 140 GB); a file is known to be
unreadable once it has been read.

Not in the dataset registry (:mod:`improved_gan.data.registry`): the
registry's loaders return in-memory :class:`~improved_gan.data.ImageDataset`
arrays, which an ImageNet-sized folder cannot be.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from improved_gan.errors import DataError

__all__ = ["IMAGE_EXTENSIONS", "ImageFolderDataset"]

IMAGE_EXTENSIONS = (".jpeg", ".jpg", ".png")
"""Image file extensions read (compared in lower case)."""

_LAYOUT = "expected ROOT/<class folder>/<image>.JPEG|jpg|png, one folder per class"
_SHOWN = 5  # names listed in an error message before "..."


def _listing(names: Sequence[str]) -> str:
    shown = ", ".join(names[:_SHOWN])
    return shown + (f", ... ({len(names):,} in all)" if len(names) > _SHOWN else "")


def _scan(root: Path, extensions: tuple[str, ...]) -> tuple[list[str], list[list[str]], int]:
    """Sorted class names, each class's sorted image file names, and the number of other files ignored."""
    if not root.exists():
        raise DataError(f"{root}: no such folder; {_LAYOUT}.")
    if not root.is_dir():
        raise DataError(f"{root}: is not a folder; {_LAYOUT}.")
    try:
        classes = sorted(e.name for e in os.scandir(root) if e.is_dir() and not e.name.startswith("."))
    except OSError as err:
        raise DataError(f"{root}: cannot be listed ({err.strerror or err}).") from err
    if not classes:
        raise DataError(f"{root}: holds no class folders; {_LAYOUT}.")
    files, ignored = [], 0
    for name in classes:
        try:
            entries = [e.name for e in os.scandir(root / name) if e.is_file() and not e.name.startswith(".")]
        except OSError as err:
            raise DataError(f"{root / name}: cannot be listed ({err.strerror or err}).") from err
        images = sorted(n for n in entries if os.path.splitext(n)[1].lower() in extensions)
        ignored += len(entries) - len(images)
        files.append(images)
    empty = [name for name, images in zip(classes, files) if not images]
    if empty:
        raise DataError(
            f"{root}: {len(empty):,} of {len(classes):,} class folders hold no {'/'.join(extensions)} images "
            f"({_listing(empty)}); every class needs images (move a folder out of ROOT to train without it)."
        )
    return classes, files, ignored


def _check_classes(root: Path, classes: list[str], expected: int | Sequence[str] | None) -> None:
    if expected is None:
        return
    if isinstance(expected, int):
        if len(classes) != expected:
            raise DataError(
                f"{root}: {len(classes):,} class folders, expected {expected:,}; "
                "a missing or extra class folder would change the labels."
            )
        return
    wanted = set(expected)
    missing, extra = sorted(wanted - set(classes)), sorted(set(classes) - wanted)
    if missing or extra:
        parts = [f"missing class folders: {_listing(missing)}"] if missing else []
        parts += [f"unexpected folders: {_listing(extra)}"] if extra else []
        raise DataError(f"{root}: {'; '.join(parts)}; {_LAYOUT}.")


class ImageFolderDataset(Dataset):
    """The images of an ImageNet-style class folder, decoded, resized and centre-cropped on read.

    Args:
        root: the folder holding one sub-folder per class.
        image_size: side of the square centre crop. Default: 128.
        resize: the shorter side is resized to this before the crop; None: ``image_size``.
        on_corrupt: ``"fail"`` (raise on an unreadable image) or ``"skip"``
            (replace it by the next readable image of its class and record it). Default: ``"fail"``.
        expected_classes: the number of class folders, or their exact names, that
            ``root`` must hold (e.g. 1000 for ImageNet); None: any. Default: None.
        extensions: file extensions read, lower case. Default: :data:`IMAGE_EXTENSIONS`.

    Raises:
        DataError: the folder is missing, holds no class folders, a class folder
            holds no images, or the classes differ from ``expected_classes``.

    Shape:
        - item: ``(image uint8 [image_size, image_size, 3], label int)``; batched by a
          DataLoader: ``uint8 [B, H, W, 3]`` and ``int64 [B]``.

    Example::

        >>> dataset = ImageFolderDataset("/data/imagenet/train", expected_classes=1000)
        >>> loader = DataLoader(dataset, batch_size=64, shuffle=True, num_workers=8)
        >>> images, labels = next(iter(loader))   # uint8 [64, 128, 128, 3], int64 [64]
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        image_size: int = 128,
        resize: int | None = None,
        on_corrupt: Literal["fail", "skip"] = "fail",
        expected_classes: int | Sequence[str] | None = None,
        extensions: Sequence[str] = IMAGE_EXTENSIONS,
    ) -> None:
        if on_corrupt not in ("fail", "skip"):
            raise ValueError(f"on_corrupt must be 'fail' or 'skip' (got {on_corrupt!r})")
        resize = image_size if resize is None else resize
        if image_size < 1 or resize < image_size:
            raise ValueError(f"expected 1 <= image_size <= resize (got image_size={image_size}, resize={resize})")
        self.root = Path(root)
        self.image_size = image_size
        self.resize = resize
        self.on_corrupt = on_corrupt
        classes, files, self.ignored_files = _scan(self.root, tuple(e.lower() for e in extensions))
        _check_classes(self.root, classes, expected_classes)
        self.class_names: tuple[str, ...] = tuple(classes)
        counts = np.array([len(f) for f in files], dtype=np.int64)
        self._class_start = np.concatenate([[0], np.cumsum(counts)])  # [K + 1]
        self.labels = np.repeat(np.arange(len(classes), dtype=np.int64), counts)  # [N]
        # "class/file" as fixed-width bytes: one NumPy buffer, not 1.28M Python strings
        self._paths = np.array([os.fsencode(f"{c}/{f}") for c, names in zip(classes, files) for f in names])
        # 1 where a file was found unreadable, shared with forked or spawned DataLoader workers
        self._corrupt = multiprocessing.RawArray("b", len(self.labels))

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def __len__(self) -> int:
        return len(self.labels)

    def class_counts(self) -> np.ndarray:
        """Images per class, ``int64 [num_classes]``."""
        return np.diff(self._class_start)

    def path(self, index: int) -> Path:
        """The file of item ``index``."""
        return self.root / os.fsdecode(self._paths[index])

    def corrupt_files(self) -> list[Path]:
        """Every file found unreadable so far, by any process (with ``on_corrupt="skip"``)."""
        flags = np.frombuffer(self._corrupt, dtype=np.int8)
        return [self.path(i) for i in np.flatnonzero(flags)]

    def summary(self) -> str:
        """One line for the run's log: images, classes, files ignored, unreadable images so far."""
        corrupt = len(self.corrupt_files())
        policy = "each replaced by the next readable image of its class" if self.on_corrupt == "skip" else "fatal"
        return (
            f"{self.root}: {len(self):,} images in {self.num_classes:,} classes, {self.ignored_files:,} other files "
            f"ignored; {corrupt:,} unreadable images found so far ({policy})"
        )

    def _decode(self, index: int) -> np.ndarray | None:
        """``uint8 [S, S, 3]``, or None when the file cannot be decoded."""
        try:
            with Image.open(self.path(index)) as image:
                image = image.convert("RGB")  # decodes the whole file: a truncated JPEG fails here
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
            return None
        return np.asarray(_resize_and_crop(image, self.resize, self.image_size), dtype=np.uint8)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self):,} images")
        index %= len(self)
        label = int(self.labels[index])
        start, stop = int(self._class_start[label]), int(self._class_start[label + 1])
        for offset in range(stop - start):  # the item itself, then the next images of its class, wrapping
            candidate = start + (index - start + offset) % (stop - start)
            if self._corrupt[candidate]:
                continue
            image = self._decode(candidate)
            if image is not None:
                return torch.from_numpy(image.copy()), label
            if self.on_corrupt == "fail":
                raise DataError(
                    f"{self.path(candidate)}: cannot be decoded as an image (truncated or corrupt); replace or "
                    "delete it, or read the folder with on_corrupt='skip' to replace unreadable images and count them."
                )
            self._corrupt[candidate] = 1
        raise DataError(
            f"{self.root / self.class_names[label]}: none of its {stop - start:,} images can be decoded; "
            "the class would silently drop out of training. Replace the files or move the folder out of ROOT."
        )

    def __repr__(self) -> str:
        return (
            f"ImageFolderDataset(root={str(self.root)!r}, images={len(self):,}, classes={self.num_classes:,}, "
            f"image_size={self.image_size}, resize={self.resize}, on_corrupt={self.on_corrupt!r})"
        )


def _resize_and_crop(image: Image.Image, resize: int, size: int) -> Image.Image:
    """The usual ImageNet preprocessing: the short side bilinearly (antialiased) to ``resize``, then
    the centre ``size x size``. torchvision is imported here, on the first image, and not with the
    package: its import pulls in torch._dynamo, about 4 s that every command would pay."""
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms.v2 import functional as TF

    image = TF.resize(image, [resize], interpolation=InterpolationMode.BILINEAR, antialias=True)
    return TF.center_crop(image, [size, size])
