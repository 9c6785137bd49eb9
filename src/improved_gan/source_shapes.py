"""The shape of an image source's images, read from headers alone (no torch): what ``score`` chooses its
default metrics by (28x28 grayscale: the MNIST scores, else the Inception score) before it imports torch.

:func:`peek_image_shape` reads an ``.npz``'s array header (numpy), the first image of a folder (its header, by
PIL, which decodes no pixels) or a dataset's table entry. Where the headers do not tell for certain (an array
of another type or rank, an image of a mode the reader refuses, a damaged file) it answers None: the images
are read then, and :mod:`improved_gan.image_sources` says what is wrong with them. The rules both modules
follow live here: which files of a folder are images (:func:`image_files`), which array of an ``.npz`` holds
them (:func:`images_key`), and how many channels each image mode gives (:data:`MODE_CHANNELS`).
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from improved_gan.errors import UserError

__all__ = ["IMAGE_SUFFIXES", "MODE_CHANNELS", "image_files", "images_key", "peek_image_shape"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
"""File types read from an image folder (case-insensitive)."""

MODE_CHANNELS = {"L": 1, "RGB": 3, "P": 3}
"""The channels of each PIL image mode that is read (a palette image is read as RGB); others are refused."""


def image_files(folder: Path) -> list[Path]:
    """The images of ``folder``: every file directly in it with a suffix of :data:`IMAGE_SUFFIXES`, sorted."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def images_key(keys: list[str], path: Path) -> str:
    """Which of an ``.npz``'s arrays (``keys``) holds the images: ``x``, or its only array; else a UserError."""
    if "x" in keys:
        return "x"
    if len(keys) == 1:
        return keys[0]
    raise UserError(f"{path}: cannot tell which array holds the images (keys: {', '.join(keys) or 'none'}); "
                    "store them under the key 'x'")


def peek_image_shape(source: str, kind: str) -> tuple[int, ...] | None:
    """The ``(H, W, C)`` of the images of ``source``, a source of ``kind``
    (:func:`~improved_gan.source_names.describe_source`) other than a run, from headers alone; None where they
    do not tell for certain (module docstring)."""
    path = Path(source).expanduser()
    if kind == "dataset":
        from improved_gan.data.registry import dataset_spec, parse_dataset_source  # numpy, as describe_source

        return dataset_spec(*parse_dataset_source(source)).image_shape
    try:
        if kind == "npz":
            return _npz_shape(path)
        if kind == "folder":
            return _first_image_shape(path)
    except (OSError, ValueError, EOFError, UserError, zipfile.BadZipFile):
        return None  # the reader of the images says what is wrong
    return None


def _npz_shape(path: Path) -> tuple[int, ...] | None:
    """The image shape in the header of the images' array of the ``.npz`` ``path`` (uint8 ``[N, H, W(, C)]``)."""
    with zipfile.ZipFile(path) as archive:
        names = {name.removesuffix(".npy"): name for name in archive.namelist()}  # as np.load names its arrays
        member = names[images_key(list(names), path)]
        if not member.endswith(".npy"):
            return None
        with archive.open(member) as f:
            read_header = _HEADER_READERS.get(np.lib.format.read_magic(f))
            if read_header is None:
                return None
            shape, _, dtype = read_header(f)  # what np.load reads first
    if dtype != np.uint8 or len(shape) not in (3, 4):
        return None
    return tuple(shape[1:]) + ((1,) if len(shape) == 3 else ())


_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
"""numpy's public readers of an ``.npy`` header, by format version (np.savez writes 1.0, or 2.0 for a long one)."""


def _first_image_shape(folder: Path) -> tuple[int, ...] | None:
    """The shape of the first image of ``folder`` (its header; a mode the reader refuses: None)."""
    from PIL import Image  # tens of milliseconds, not torch's seconds; only for a folder

    files = image_files(folder)
    if not files:
        return None
    try:
        with Image.open(files[0]) as image:  # lazy: the header only
            channels = MODE_CHANNELS.get(image.mode)
            width, height = image.size
    except Image.DecompressionBombError:  # no OSError: the reader of the images says it in its words
        return None
    return None if channels is None else (height, width, channels)
