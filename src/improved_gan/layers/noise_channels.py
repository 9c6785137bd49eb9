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

The one exception is the virtual batch norm's reference batch: in the authors'
code the reference rows' noise channels, like their ``z``, are variables drawn
once and never redrawn. ``NoiseChannels(k, reference_size=R, spatial=(H, W))``
holds those ``R`` draws as the buffer ``reference_noise`` ``[R, k, H, W]`` (saved
in checkpoints, broadcast with the model) and uses them for the first ``R`` rows
of every call, the rows where :class:`~improved_gan.techniques.WithReferenceBatch`
puts the reference batch; the other rows get fresh noise.
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
        reference_size: ``R``, leading rows whose noise is fixed (drawn once here, from
            torch's global generator). Default: 0 (every row fresh).
        spatial: the ``(H, W)`` of the input when ``reference_size > 0`` (``()`` for ``[N, C]``
            input). Default: ``()``.

    Shape:
        - Input: ``[N, C]`` or ``[N, C, H, W]`` (``N >= R``)
        - Output: ``[N, C + k]`` or ``[N, C + k, H, W]``

    Example::

        >>> NoiseChannels(16)(torch.zeros(2, 512, 4, 4)).shape
        torch.Size([2, 528, 4, 4])
    """

    def __init__(
        self,
        num_channels: int,
        *,
        low: float = -1.0,
        high: float = 1.0,
        reference_size: int = 0,
        spatial: tuple[int, ...] = (),
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        if isinstance(num_channels, bool) or not isinstance(num_channels, int) or num_channels < 1:
            raise ValueError(f"num_channels must be a positive integer (got {num_channels!r})")
        if not low < high:
            raise ValueError(f"expected low < high (got low={low}, high={high})")
        if isinstance(reference_size, bool) or not isinstance(reference_size, int) or reference_size < 0:
            raise ValueError(f"reference_size must be an integer >= 0 (got {reference_size!r})")
        self.num_channels = num_channels
        self.low = float(low)
        self.high = float(high)
        self.reference_size = reference_size
        self.spatial = tuple(spatial)
        if reference_size:  # [R, k, *spatial], drawn once: the reference batch's own noise
            fixed = torch.empty(reference_size, num_channels, *self.spatial, device=device, dtype=dtype)
            self.register_buffer("reference_noise", fixed.uniform_(self.low, self.high))

    def forward(self, x: Tensor) -> Tensor:
        r = self.reference_size
        if not r:
            return noise_channels(x, self.num_channels, low=self.low, high=self.high)
        if x.dim() < 2 or x.shape[0] < r or tuple(x.shape[2:]) != self.spatial:
            raise ValueError(
                f"expected input of shape [N >= {r}, C, {', '.join(map(str, self.spatial))}] with the "
                f"{r} reference rows first (got {list(x.shape)})"
            )
        fresh = noise_channels(x[r:], self.num_channels, low=self.low, high=self.high)  # [N - R, C + k, *]
        fixed = torch.cat([x[:r], self.reference_noise.to(x.dtype)], dim=1)  # [R, C + k, *]
        return torch.cat([fixed, fresh])

    def extra_repr(self) -> str:
        fixed = f", reference_size={self.reference_size} (fixed noise)" if self.reference_size else ""
        return f"{self.num_channels}, low={self.low}, high={self.high}{fixed}"
