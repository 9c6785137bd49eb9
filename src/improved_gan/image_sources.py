"""Turn the string a user types (``improved-gan score SOURCE``) into uint8 images.

A source is one of, tried in this order:

What kind a source is, :func:`describe_source`, lives in :mod:`improved_gan.source_names` (no torch: a command
says a missing file before it imports anything heavy); it is handed on here.

* a **run folder** (a directory holding ``config.json`` and ``checkpoints/``):
  ``n`` samples of its generator, seeded (:func:`improved_gan.training.sampling.sample_images`);
* a **folder of images**: every ``.png``, ``.jpg`` or ``.jpeg`` directly inside
  it (not in sub-folders), in sorted file-name order; all must have the same
  size and be 8-bit grayscale (``L``) or RGB (palette images are converted to RGB);
* an **``.npz`` file** holding uint8 images ``[N, H, W, C]`` (or ``[N, H, W]``,
  read as grayscale) under the key ``x``, or as its only array;
* a **dataset name**, optionally with a split: ``mnist``, ``mnist:test``,
  ``cifar10:train`` (:func:`improved_gan.data.load_dataset`; default split ``train``).

Every source returns an array in the format of
:func:`improved_gan.metrics.images.check_images`. ``n`` takes the first ``n``
images of a finite source (asking for more than it holds is an error) and the
number to draw from a generator (default :data:`DEFAULT_GENERATOR_SAMPLES`).
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from improved_gan.data import load_dataset
from improved_gan.data.registry import parse_dataset_source
from improved_gan.errors import UserError
from improved_gan.metrics.images import check_images
from improved_gan.source_names import check_image_count, describe_source, is_run_folder
from improved_gan.source_shapes import IMAGE_SUFFIXES, MODE_CHANNELS, image_files, images_key
from improved_gan.training.sampling import sample_images

__all__ = [
    "DEFAULT_GENERATOR_SAMPLES",
    "check_generator_count",
    "IMAGE_SUFFIXES",
    "describe_source",
    "is_run_folder",
    "load_images",
    "read_image_folder",
    "read_npz_images",
]

DEFAULT_GENERATOR_SAMPLES = 50_000
"""Samples drawn from a run's generator when no ``n`` is given (the paper's count)."""


def load_images(
    source: str,
    *,
    n: int | None = None,
    data_dir: str | os.PathLike | None = None,
    seed: int = 0,
    batch_size: int = 500,
    device=None,
    progress: bool = True,
) -> np.ndarray:
    """Images of ``source`` (module docstring) as uint8 ``[N, H, W, C]``.

    Args:
        source: run folder, image folder, ``.npz`` file or ``NAME[:SPLIT]``.
        n: how many images; ``None``: all of a finite source, or
            :data:`DEFAULT_GENERATOR_SAMPLES` from a generator.
        data_dir: data root for dataset names (default: see
            :func:`improved_gan.data.resolve_data_root`).
        seed, batch_size, device, progress: for sampling a run's generator.

    Raises:
        UserError: a missing or empty source, a file that is not uint8 images,
            images of mixed sizes or modes, or fewer images than ``n``.
    """
    check_image_count(n)
    kind = describe_source(source)
    path = Path(source).expanduser()
    if kind == "run":
        count = check_generator_count(n)
        images = sample_images(path, count, seed=seed, batch_size=batch_size, device=device, progress=progress)
        return check_images(images, what=f"samples of {source}")
    if kind == "folder":
        images = read_image_folder(path)
    elif kind == "npz":
        images = read_npz_images(path)
    else:
        images = _read_dataset(source, data_dir)
    return _first(images, n, source)


SMALLEST_IMAGE_BYTES = 28 * 28
"""The bytes of the smallest images a generator here draws (MNIST's): a lower bound of what ``n`` samples hold."""


def check_generator_count(n: int | None) -> int:
    """The number of samples to draw from a generator (``n``, else :data:`DEFAULT_GENERATOR_SAMPLES`), refused
    at once when even the smallest images could not be held in this machine's memory (``--n 10**11`` sampled
    for days before running out)."""
    count = DEFAULT_GENERATOR_SAMPLES if n is None else n
    if count <= 0:
        raise UserError(f"the number of images must be positive (got {count})")
    try:
        memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # not POSIX: no bound known
        return count
    if count * SMALLEST_IMAGE_BYTES > memory:
        raise UserError(f"{count:,} samples need at least {count * SMALLEST_IMAGE_BYTES / 2**30:,.0f} GiB, more "
                        f"than this machine's {memory / 2**30:,.0f} GiB of memory; ask for fewer")
    return count


def read_image_folder(folder: str | os.PathLike) -> np.ndarray:
    """Every PNG/JPEG directly in ``folder``, sorted by file name, stacked to uint8 ``[N, H, W, C]``."""
    folder = Path(folder)
    files = image_files(folder)
    if not files:
        raise UserError(f"{folder}: no images ({', '.join(IMAGE_SUFFIXES)}) in this folder")
    arrays = []
    for file in files:
        array = _read_image(file)
        arrays.append(array[..., None] if array.ndim == 2 else array)
        if arrays[-1].shape != arrays[0].shape:
            raise UserError(
                f"{folder}: images differ in size or channels: {files[0].name} is "
                f"{_shape_text(arrays[0])}, {file.name} is {_shape_text(arrays[-1])}; resize them to one size"
            )
    return np.stack(arrays)


def _read_image(file: Path) -> np.ndarray:
    """One 8-bit grayscale or RGB image (a palette image as RGB) as uint8 ``[H, W]`` or ``[H, W, 3]``."""
    try:
        with Image.open(file) as image:
            if image.mode not in MODE_CHANNELS:
                raise UserError(f"{file}: image mode {image.mode!r} is not 8-bit grayscale (L) or RGB; "
                                f"{_CONVERSION_HINTS.get(image.mode, 'convert it to L or RGB')} first")
            return np.asarray(image.convert("RGB") if image.mode == "P" else image, dtype=np.uint8)
    except Image.DecompressionBombError as err:  # not an OSError: it escaped every handler as a traceback
        raise UserError(f"{file}: too large to read as an image ({err.args[0].split(',')[0]}); resize it or "
                        "move it out of the folder") from None
    except OSError as err:  # PIL's UnidentifiedImageError (a text file named .png), a truncated image
        raise UnreadableFile(f"{file}: {err}; remove or replace that file") from None


_CONVERSION_HINTS = {
    "RGBA": "drop the alpha channel (convert it to RGB)",
    "LA": "drop the alpha channel (convert it to L)",
    "PA": "drop the alpha channel (convert it to RGB)",
    "1": "convert the 1-bit image to 8-bit grayscale (L)",
    "I;16": "scale the 16-bit values to 0..255 and save as 8-bit grayscale (L)",
    "I": "scale the 32-bit values to 0..255 and save as 8-bit grayscale (L)",
    "F": "scale the floating-point values to 0..255 and save as 8-bit grayscale (L)",
    "CMYK": "convert it to RGB",
    "YCbCr": "convert it to RGB",
}
"""How to make an image of each other PIL mode scorable (the message names the mode)."""


class UnreadableFile(UserError):
    """A file that cannot be decoded at all (empty, truncated, not an .npz); the message names it."""


def read_npz_images(path: str | os.PathLike) -> np.ndarray:
    """The uint8 images in an ``.npz``: key ``x``, or its only array; ``[N, H, W]`` gains C = 1."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            key = images_key(list(archive.files), path)
            images = archive[key]
    except MemoryError:  # a header declaring more than this machine holds: a damaged file, not a size the user chose
        raise UnreadableFile(f"{path}: its array header declares more images than this machine's memory holds; "
                             "the file is damaged, or not images (write it with np.savez(path, x=images))") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:  # an empty or truncated file, a text file
        raise UnreadableFile(f"{path}: not a readable .npz file ({err or type(err).__name__}); write it with "
                             "np.savez(path, x=images) (uint8 [N, H, W, C])") from None
    if images.ndim == 3:
        images = images[..., None]
    return check_images(images, what=f"{path} [{key}]")


def _read_dataset(source: str, data_dir) -> np.ndarray:
    name, split = parse_dataset_source(source)
    dataset = load_dataset(name, root=data_dir, split=split)
    return check_images(dataset.images, what=f"dataset {source}")


def _first(images: np.ndarray, n: int | None, source: str) -> np.ndarray:
    if n is None:
        return images
    if n > len(images):
        raise UserError(f"{source} holds {len(images):,} images, fewer than the {n:,} asked for; lower --n")
    return images[:n]


def _shape_text(array: np.ndarray) -> str:
    height, width, channels = array.shape
    return f"{width}x{height} {'grayscale' if channels == 1 else 'RGB'}"
