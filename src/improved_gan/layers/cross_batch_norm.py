r"""The "cross" batch norm of the authors' ImageNet discriminator.

The discriminator sees one joint batch ``[real; generated]`` of two equal
halves. Its convolutions are followed by a batch norm whose statistics come
from one half only, and which half depends on the channel (docs/reference.md,
"ImageNet 128x128"): the first ``C // 2`` channels are normalised with the
statistics of the **real** half, the other ``C - C // 2`` with those of the
**generated** half; each set of statistics is applied to *every* row of the
batch. For channel :math:`c` with source half :math:`S(c)` (rows ``0 .. H-1``
for real, ``H .. 2H-1`` for generated):

.. math::

    \mu_c = \operatorname{mean}_{i \in S(c),\,h,\,w} x_{i,c,h,w}, \qquad
    \sigma^2_c = \operatorname{mean}_{i \in S(c),\,h,\,w} (x_{i,c,h,w} - \mu_c)^2,

    y_{i,c} = \gamma_c \, \frac{x_{i,c} - \mu_c}{\sqrt{\sigma^2_c + \epsilon}} + \beta_c
    \quad \text{for every row } i.

Neither half's normalisation depends on the other half for its own channels,
but every output row depends on both halves, so a discriminator using it is
``cross_sample`` and must be called on the joint batch, real half first.
No running statistics are kept: train and eval behave the same (a joint batch
is always needed). ``eps = 1e-5``, :math:`\gamma \sim \mathcal N(1, 0.02^2)` and
:math:`\beta = 0` are the authors' (their ``batch_norm_cross``).

**Towers.** The authors ran 4 GPU towers of 16 real + 16 generated rows, and
each tower normalised its own 32 rows. ``tower_size = T`` does the same in one
call: the real half's rows ``tT .. tT + T - 1`` and the generated half's rows
``H + tT .. H + tT + T - 1`` form tower ``t``, and the moments above are taken
over each tower's rows alone (``H`` must be a multiple of ``T``). So one process
given the 64 + 64 rows of four towers normalises them as the four towers did.
``tower_size=None`` makes the whole joint batch one tower.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

__all__ = ["CrossBatchNorm", "count_towers", "cross_batch_norm"]


def _check_joint_batch(x: Tensor, who: str) -> int:
    """The half size ``H`` of a joint batch ``[real (H rows); generated (H rows)]``.

    Raises:
        ValueError: ``x`` has an odd number of rows or fewer than 2.
    """
    rows = x.shape[0] if x.dim() else 0
    if rows < 2 or rows % 2:
        raise ValueError(
            f"{who} expects a joint batch [real; generated] of two equal halves, real first "
            f"(an even number of rows >= 2; got {rows})"
        )
    return rows // 2


def count_towers(half: int, tower_size: int | None, who: str) -> int:
    """How many towers of ``tower_size`` real (and as many generated) rows a half of ``half`` rows holds.

    Raises:
        ValueError: ``half`` is not a multiple of ``tower_size``.
    """
    if tower_size is None:
        return 1
    if half % tower_size:
        raise ValueError(
            f"{who} groups the joint batch into towers of {tower_size} real + {tower_size} generated rows: "
            f"each half must be a multiple of {tower_size} rows (got {half})"
        )
    return half // tower_size


def cross_batch_norm(
    x: Tensor,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    *,
    eps: float = 1e-5,
    tower_size: int | None = None,
) -> Tensor:
    r"""Normalise channels ``[:C//2]`` with the real half's statistics and ``[C//2:]`` with the generated half's.

    Args:
        x: the joint batch ``[real; generated]``, ``[2H, C]`` or ``[2H, C, H', W']``.
        weight: :math:`\gamma`, ``[C]``, or None for 1.
        bias: :math:`\beta`, ``[C]``, or None for 0.
        eps: added to the (biased) variance. Default: 1e-5.
        tower_size: ``T``, real rows per tower (module docstring); None: one tower. Default: None.

    Shape:
        - Input: ``[2H, C, *]``; Output: same.
    """
    if x.dim() not in (2, 4):
        raise ValueError(f"expected input of shape [N, C] or [N, C, H, W] (got {list(x.shape)})")
    half = _check_joint_batch(x, "cross_batch_norm")
    towers = count_towers(half, tower_size, "cross_batch_norm")
    split = x.shape[1] // 2
    grouped = x.reshape(2, towers, half // towers, *x.shape[1:])  # [2 (real, generated), G, T, C, *]
    reduce = (1, *range(3, grouped.dim() - 1))  # a tower's rows and positions, dims of grouped[0]
    sources = [grouped[0, :, :, :split], grouped[1, :, :, split:]]  # the real half's channels, the generated's
    moments = [torch.var_mean(part, dim=reduce, correction=0, keepdim=True) for part in sources if part.shape[2]]
    var = torch.cat([v for v, _ in moments], dim=2)  # [G, 1, C, 1...]: each tower's own moments
    mean = torch.cat([m for _, m in moments], dim=2)
    y = ((grouped - mean) * torch.rsqrt(var + eps)).reshape(x.shape)  # [2H, C, *]
    shape = (1, -1) + (1,) * (x.dim() - 2)
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y


class CrossBatchNorm(nn.Module):
    r"""Batch norm over a joint ``[real; generated]`` batch with per-channel-half statistics.

    See the module docstring for the equation. The first ``num_features // 2``
    channels use the real (first) half's statistics, the rest the generated
    (second) half's; learned :math:`\gamma` and :math:`\beta` per channel.

    Args:
        num_features: ``C``.
        eps: added to the variance. Default: 1e-5.
        affine: learn :math:`\gamma, \beta`. Default: True.
        tower_size: real rows per tower (module docstring), or None for one tower. Default: None.

    Shape:
        - Input: ``[2H, C]`` or ``[2H, C, H', W']`` (real rows first)
        - Output: same as the input.

    Example::

        >>> norm = CrossBatchNorm(128)
        >>> norm(torch.randn(32, 128, 8, 8)).shape
        torch.Size([32, 128, 8, 8])
    """

    def __init__(
        self,
        num_features: int,
        *,
        eps: float = 1e-5,
        affine: bool = True,
        tower_size: int | None = None,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        if isinstance(num_features, bool) or not isinstance(num_features, int) or num_features < 1:
            raise ValueError(f"num_features must be a positive integer (got {num_features!r})")
        if not (math.isfinite(eps) and eps > 0):
            raise ValueError(f"eps must be a positive number (got {eps})")
        if tower_size is not None and (isinstance(tower_size, bool) or not isinstance(tower_size, int)
                                       or tower_size < 1):
            raise ValueError(f"tower_size must be a positive integer or None (got {tower_size!r})")
        factory = {"device": device, "dtype": dtype}
        self.num_features = num_features
        self.eps = eps
        self.affine = affine
        self.tower_size = tower_size
        if affine:
            self.weight = nn.Parameter(torch.empty(num_features, **factory))
            self.bias = nn.Parameter(torch.empty(num_features, **factory))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """:math:`\\gamma \\sim \\mathcal N(1, 0.02^2)`, :math:`\\beta = 0`."""
        if self.affine:
            nn.init.normal_(self.weight, mean=1.0, std=0.02)
            nn.init.zeros_(self.bias)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() not in (2, 4) or x.shape[1] != self.num_features:
            raise ValueError(
                f"expected input of shape [N, {self.num_features}] or [N, {self.num_features}, H, W]"
                f" (got {list(x.shape)})"
            )
        return cross_batch_norm(x, self.weight, self.bias, eps=self.eps, tower_size=self.tower_size)

    def extra_repr(self) -> str:
        real = self.num_features // 2
        return (
            f"{self.num_features}, eps={self.eps}, affine={self.affine}, tower_size={self.tower_size}, "
            f"real_statistics=channels[:{real}], generated_statistics=channels[{real}:]"
        )
