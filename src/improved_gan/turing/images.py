"""Image files of a study: PNGs that carry pixels and nothing else.

Each image becomes an uncompressed PNG (zlib level 0) with only the IHDR, IDAT
and IEND chunks: no text, time, gamma or EXIF chunk. Uncompressed matters: with
compression a file's size would follow the image's content (generated images
are often smoother, so smaller), and an annotator could read the answer off the
``Content-Length``. At level 0 the size is a function of H, W and C alone, the
same for every image of a study.

Files are written in a random order and all get the same modification time, so
the folder's listing and dates do not separate real from generated either.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from PIL import Image


def encode_png(image: np.ndarray) -> bytes:
    """One ``[H, W, C]`` uint8 image as a metadata-free, uncompressed PNG."""
    pixels = image[..., 0] if image.shape[-1] == 1 else image
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels)).save(buffer, format="PNG", compress_level=0)
    return buffer.getvalue()


def write_png(path: Path, image: np.ndarray, *, mtime: float) -> None:
    """Write one image to a new file, flushed to disk, with the given modification time."""
    with open(path, "xb") as f:
        f.write(encode_png(image))
        f.flush()
        os.fsync(f.fileno())
    os.utime(path, (mtime, mtime))
