"""The generators' batch normalisation: batch statistics always, no scale, a learned bias.

The reference generators follow every hidden layer with batch normalisation
that has no scale parameter, a learned bias, ``eps = 1e-6`` inside the square
root, and that normalises with the statistics of the batch being generated in
training *and* when sampling (docs/reference.md). ``torch.nn.BatchNorm1d``
switches to running averages in eval mode, which the reference never used, so
this module keeps no running statistics at all.

Consequence worth knowing: a generated image depends on the other latent
vectors in its batch. Generate in batches of the training size (100 in the
paper), and never one image at a time; Section 3.4's virtual batch norm
(``improved_gan.techniques``) is the paper's fix for this dependence.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["batch_statistics_norm", "BatchStatisticsNorm"]


def batch_statistics_norm(x: Tensor, bias: Tensor | None, *, eps: float = 1e-6) -> Tensor:
    """Normalise each feature with the batch's mean and variance, then add ``bias``.

    .. math::
        y = \\frac{x - \\mathrm{E}[x]}{\\sqrt{\\mathrm{Var}[x] + \\epsilon}} + b

    with the mean and the (biased, divisor ``n``) variance taken per feature over
    the batch and, for feature maps, over the spatial positions.

    Args:
        x: ``[N, C]`` or ``[N, C, H, W]``.
        bias: ``[C]`` or None.
        eps: added to the variance. Default: 1e-6 (the reference's).

    Returns:
        A tensor shaped like ``x``.
    """
    if x.dim() not in (2, 4):
        raise ValueError(f"expected input of shape [N, C] or [N, C, H, W] (got {list(x.shape)})")
    values_per_feature = x.numel() // max(x.shape[1], 1)
    if values_per_feature < 2:
        raise ValueError(
            f"batch statistics need at least 2 values per feature (got input of shape {list(x.shape)});"
            " generate a batch of several examples (the reference uses 100)"
        )
    # The bias is added outside F.batch_norm: its CUDA backward with weight=None and a
    # bias returns an empty bias gradient under bfloat16 autocast (torch 2.11).
    normalised = F.batch_norm(x, None, None, training=True, eps=eps)
    if bias is None:
        return normalised
    return normalised + bias.to(normalised.dtype).view((1, -1) + (1,) * (x.dim() - 2))


class BatchStatisticsNorm(nn.Module):
    """Batch normalisation with batch statistics in every mode, no scale and a learned bias.

    Args:
        num_features: ``C``, the number of features or channels.
        eps: added to the variance. Default: 1e-6.

    Shape:
        - Input: ``[N, C]`` or ``[N, C, H, W]``
        - Output: same as the input.

    Example::

        >>> norm = BatchStatisticsNorm(500)
        >>> y = norm(torch.randn(100, 500) * 3 + 1)
        >>> bool(y.mean(0).abs().max() < 1e-5)
        True
    """

    def __init__(self, num_features: int, *, eps: float = 1e-6, device=None, dtype=None) -> None:
        super().__init__()
        if not (math.isfinite(eps) and eps > 0):
            raise ValueError(f"eps must be a positive number (got {eps})")
        self.num_features = num_features
        self.eps = eps
        self.bias = nn.Parameter(torch.empty(num_features, device=device, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.zeros_(self.bias)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() not in (2, 4) or x.shape[1] != self.num_features:
            raise ValueError(
                f"expected input of shape [N, {self.num_features}] or [N, {self.num_features}, H, W]"
                f" (got {list(x.shape)})"
            )
        return batch_statistics_norm(x, self.bias, eps=self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, scale=False, statistics=batch"
