"""Conversion between uint8 images and a model's pixel range, in one place.

Scales (docs/reference.md):

* ``unit``: ``x / 255`` in [0, 1] (MNIST; G ends in a sigmoid);
* ``cifar``: ``(x - 127.5) / 128`` (the authors' CIFAR-10 code; G ends in tanh);
* ``symmetric``: ``(x - 127.5) / 127.5`` in [-1, 1] (SVHN).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

_SCALES = {"unit": (0.0, 255.0), "cifar": (127.5, 128.0), "symmetric": (127.5, 127.5)}


def _offset_scale(scale: str) -> tuple[float, float]:
    try:
        return _SCALES[scale]
    except KeyError:
        raise ValueError(f"expected pixel scale in {sorted(_SCALES)} (got {scale!r})") from None


def to_model(images: np.ndarray, scale: str, *, device=None, dtype=torch.float32) -> Tensor:
    """uint8 ``[N, H, W, C]`` -> float ``[N, C, H, W]`` in the model's range."""
    if images.dtype != np.uint8 or images.ndim != 4:
        raise ValueError(f"expected uint8 [N, H, W, C] images (got {images.dtype} {images.shape})")
    offset, div = _offset_scale(scale)
    x = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))
    return ((x.to(device=device, dtype=dtype) - offset) / div).contiguous()


def to_uint8(images: Tensor, scale: str) -> np.ndarray:
    """float ``[N, C, H, W]`` in the model's range -> uint8 ``[N, H, W, C]`` (rounded, clipped)."""
    if images.dim() != 4:
        raise ValueError(f"expected [N, C, H, W] images (got {tuple(images.shape)})")
    offset, div = _offset_scale(scale)
    x = (images.detach().float() * div + offset).round_().clamp_(0, 255)
    return x.to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
