"""Image grids: many small uint8 images tiled into one PNG."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from improved_gan.utils.atomic import atomic_write_bytes


def make_grid(images: np.ndarray, *, ncols: int | None = None, padding: int = 2) -> np.ndarray:
    """Tile uint8 ``[N, H, W, C]`` images into one ``[H', W', C]`` array (white padding).

    ``ncols`` defaults to ``ceil(sqrt(N))``, giving a square-ish grid.
    """
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(f"expected uint8 [N, H, W, 1|3] images (got {images.dtype} {images.shape})")
    n, h, w, c = images.shape
    if n == 0:
        raise ValueError("expected at least one image (got 0)")
    ncols = ncols or math.ceil(math.sqrt(n))
    nrows = math.ceil(n / ncols)
    grid = np.full((nrows * (h + padding) + padding, ncols * (w + padding) + padding, c), 255, np.uint8)
    for i, image in enumerate(images):
        r, q = divmod(i, ncols)
        top, left = padding + r * (h + padding), padding + q * (w + padding)
        grid[top : top + h, left : left + w] = image
    return grid


def png_bytes(image: np.ndarray, *, text: dict[str, str] | None = None) -> bytes:
    """The PNG of one uint8 ``[H, W, 1|3]`` image (grayscale or RGB), with ``text`` as its ``tEXt`` chunks."""
    info = PngInfo()
    for keyword, value in (text or {}).items():
        info.add_text(keyword, value)
    mode = "L" if image.shape[-1] == 1 else "RGB"
    buffer = io.BytesIO()
    Image.fromarray(image[..., 0] if mode == "L" else image, mode=mode).save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def save_grid(images: np.ndarray, path: str | Path, *, ncols: int | None = None) -> Path:
    """Write :func:`make_grid` of ``images`` as a PNG, atomically; returns the path."""
    atomic_write_bytes(path, png_bytes(make_grid(images, ncols=ncols)))
    return Path(path)
