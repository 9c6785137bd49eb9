"""The one image format every score takes: uint8 ``[N, H, W, C]`` with C = 1 or 3.

Scores are defined on pixels as a user would save them (0..255 integers), so
that a score of a PNG folder, of an ``.npz`` and of a generator's output agree.
A float array is refused rather than guessed at: [0, 1] and [-1, 1] and
[0, 255] floats are all common, and a wrong guess silently changes the score.
"""

from __future__ import annotations

import numpy as np

from improved_gan.errors import UserError

__all__ = ["check_images"]

CHANNELS = (1, 3)
"""Grayscale or RGB."""


def check_images(images, *, what: str = "images") -> np.ndarray:
    """Return ``images`` as a uint8 ``[N, H, W, C]`` NumPy array, or raise :class:`UserError`.

    Args:
        images: a NumPy array (a torch tensor is refused: convert explicitly).
        what: how the message names the images (e.g. the file they came from).
    """
    if not isinstance(images, np.ndarray):
        raise UserError(f"{what}: expected a NumPy uint8 array [N, H, W, C] (got {type(images).__name__})")
    if images.dtype != np.uint8:
        hint = (
            "; scale floats to 0..255 and convert, e.g. (x * 255).round().astype(np.uint8) for x in [0, 1]"
            if np.issubdtype(images.dtype, np.floating)
            else ""
        )
        raise UserError(f"{what}: expected dtype uint8 (got {images.dtype}){hint}")
    if images.ndim != 4 or images.shape[-1] not in CHANNELS:
        hint = (
            "; this looks like [N, C, H, W]: transpose to [N, H, W, C] with x.transpose(0, 2, 3, 1)"
            if images.ndim == 4 and images.shape[1] in CHANNELS
            else ""
        )
        raise UserError(f"{what}: expected shape [N, H, W, C] with C in {CHANNELS} (got {list(images.shape)}){hint}")
    if len(images) == 0 or images.shape[1] == 0 or images.shape[2] == 0:
        raise UserError(f"{what}: no pixels to score (shape {list(images.shape)})")
    return images
