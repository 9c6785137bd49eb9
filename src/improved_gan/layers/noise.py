"""Additive Gaussian noise, the regulariser of the paper's MNIST discriminator.

The reference MNIST discriminator adds ``N(0, 0.3^2)`` noise to its input and
``N(0, 0.5^2)`` noise after every hidden layer; the CIFAR-10 minibatch-
discrimination model adds ``N(0, 0.2^2)`` to its input. Like dropout, the noise
is drawn in training mode only.

The noise is one ``randn_like`` and one fused ``x + std * noise`` (two kernels),
drawn from PyTorch's global generator (seed it with ``torch.manual_seed``), in
the input's dtype and on its device; every element gets its own draw, so the
result for one row never depends on the other rows of the batch.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

__all__ = ["gaussian_noise", "GaussianNoise"]


def gaussian_noise(x: Tensor, std: float, *, training: bool = True) -> Tensor:
    """``x + std * eps`` with ``eps ~ N(0, 1)`` elementwise when ``training``, else ``x``.

    Args:
        x: any tensor.
        std: standard deviation of the noise; 0 returns ``x`` unchanged.
        training: add the noise (True) or pass ``x`` through (False).

    Shape:
        - Input: any; Output: same as the input.
    """
    if not training or std == 0:
        return x
    return torch.add(x, torch.randn_like(x), alpha=std)


class GaussianNoise(nn.Module):
    """Adds ``N(0, std^2)`` noise to every element in training mode; identity in eval mode.

    Args:
        std: standard deviation of the noise (>= 0).

    Shape:
        - Input: any; Output: same as the input.

    Example::

        >>> noise = GaussianNoise(0.5)
        >>> noise.eval()(torch.zeros(2, 3)).abs().sum().item()
        0.0
    """

    def __init__(self, std: float) -> None:
        super().__init__()
        if not (math.isfinite(std) and std >= 0):
            raise ValueError(f"std must be a finite number >= 0 (got {std})")
        self.std = float(std)

    def forward(self, x: Tensor) -> Tensor:
        return gaussian_noise(x, self.std, training=self.training)

    def extra_repr(self) -> str:
        return f"std={self.std}"
