"""Fresh uniform noise concatenated as extra channels: the authors' ImageNet generator's layer input.

In the authors' ImageNet 128x128 generator (docs/reference.md, "ImageNet
128x128") every layer's output gets fresh ``Uniform(-1, 1)`` channels
concatenated to it before it feeds the next layer, so that randomness enters
at every scale and not only through ``z``. The noise is part of generation,
not a regulariser: unlike :class:`~improved_gan.layers.GaussianNoise` it is
drawn in training *and* eval mode.

The noise comes from PyTorch's global generator (seed it with
``torch.manual_seed``), or from a ``torch.Generator`` passed to the function,
in the input's dtype and on its device; every element gets its own draw.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["NoiseChannels", "noise_channels"]


def noise_channels(
    x: Tensor,
    num_channels: int,
    *,
    low: float = -1.0,
    high: float = 1.0,
    generator: torch.Generator | None = None,
) -> Tensor:
    """``cat([x, u], dim=1)`` with ``u ~ Uniform(low, high)`` of shape ``[N, num_channels, *]``.

    Args:
        x: ``[N, C]`` or ``[N, C, H, W]``.
        num_channels: ``k``, how many noise channels to append (0 returns ``x``).
        low, high: the noise's range. Default: ``(-1, 1)`` (the authors').
        generator: the random generator to draw from; None: torch's global one.

    Shape:
        - Input: ``[N, C, *]``; Output: ``[N, C + k, *]``.
    """
    if x.dim() < 2:
        raise ValueError(f"expected input of shape [N, C] or [N, C, H, W] (got {list(x.shape)})")
    if num_channels == 0:
        return x
    shape = (x.shape[0], num_channels, *x.shape[2:])
    u = torch.rand(shape, generator=generator, device=x.device, dtype=x.dtype)  # [N, k, *]
    return torch.cat([x, u.mul_(high - low).add_(low)], dim=1)  # [N, C + k, *]


class NoiseChannels(nn.Module):
    """Appends ``num_channels`` channels of fresh ``Uniform(low, high)`` noise, in every mode.

    Args:
        num_channels: ``k`` (>= 1).
        low, high: the noise's range. Default: ``(-1, 1)``.

    Shape:
        - Input: ``[N, C]`` or ``[N, C, H, W]``
        - Output: ``[N, C + k]`` or ``[N, C + k, H, W]``

    Example::

        >>> NoiseChannels(16)(torch.zeros(2, 512, 4, 4)).shape
        torch.Size([2, 528, 4, 4])
    """

    def __init__(self, num_channels: int, *, low: float = -1.0, high: float = 1.0) -> None:
        super().__init__()
        if isinstance(num_channels, bool) or not isinstance(num_channels, int) or num_channels < 1:
            raise ValueError(f"num_channels must be a positive integer (got {num_channels!r})")
        if not low < high:
            raise ValueError(f"expected low < high (got low={low}, high={high})")
        self.num_channels = num_channels
        self.low = float(low)
        self.high = float(high)

    def forward(self, x: Tensor) -> Tensor:
        return noise_channels(x, self.num_channels, low=self.low, high=self.high)

    def extra_repr(self) -> str:
        return f"{self.num_channels}, low={self.low}, high={self.high}"
