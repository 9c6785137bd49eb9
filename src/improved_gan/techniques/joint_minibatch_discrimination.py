r"""Minibatch features on the joint real + generated batch: the authors' ImageNet variant of Section 3.2.

The paper's minibatch discrimination (:mod:`.minibatch_discrimination`)
compares each example with the others of its own batch, and is computed
separately for the real and the generated batch. The authors' ImageNet
discriminator (docs/reference.md, "ImageNet 128x128") instead computes it on
the joint batch ``[real; generated]`` of a tower (two halves of ``H`` rows) and
gives each example **two** closeness sums per kernel, one to the real half and,
apart, one to the generated half, self excluded, each divided by one number:

.. math::

    M_i = W^\top \mathbf f(x_i) + b \in \mathbb R^{B \times C}, \qquad
    c_b(i, j) = \exp\big(-\lVert M_{i,b} - M_{j,b} \rVert_{L_1}\big),

    o^\text{real}_{i,b} = \frac{1}{H(2H - 1)} \sum_{j \in \text{real},\, j \ne i} c_b(i, j), \qquad
    o^\text{gen}_{i,b} = \frac{1}{H(2H - 1)} \sum_{j \in \text{gen},\, j \ne i} c_b(i, j).

The divisor is the authors': one scalar for the whole batch, the sum of the
self-exclusion mask over the columns of that half (``2H`` rows times ``H``
columns, less the ``H`` diagonal entries): 496 for a tower of 16 + 16 rows. It
is not a per-row count of terms (15 or 16), which would make the features
31-33 times larger. The projection is a plain linear layer with a bias (no
weight normalisation, no learned closeness scale), and the output is
``[f(x_i), o^real_i, o^gen_i]``.

**Towers.** As in :func:`~improved_gan.layers.cross_batch_norm`, ``tower_size = T``
splits the joint batch into towers (real rows ``tT .. tT + T - 1`` with generated
rows ``H + tT .. H + tT + T - 1``); each row is compared with the rows of its own
tower only, and ``H`` in the divisor is then ``T``. So one process given the
64 + 64 rows of the authors' four towers of 16 + 16 computes what the four
towers computed.

Unlike the paper's version, every row depends on *both* halves, so the layer
must always see a joint batch with the real half first.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from improved_gan.layers.cross_batch_norm import count_towers
from improved_gan.techniques._checks import check_dim, check_positive_float, check_positive_int
from improved_gan.techniques.minibatch_discrimination import _pairwise_l1

__all__ = ["JointMinibatchDiscrimination", "joint_minibatch_features"]


def _check_joint(m: Tensor) -> int:
    rows = m.size(0)
    if rows < 4 or rows % 2:
        raise ValueError(
            "joint minibatch features need a joint batch [real; generated] of two equal halves of at "
            f"least 2 rows each, real first (an even number of rows >= 4; got {rows})"
        )
    return rows // 2


def joint_minibatch_features(m: Tensor, *, tower_size: int | None = None) -> Tensor:
    r"""Each row's summed closeness to the real and to the generated rows of its tower, over ``T(2T - 1)``.

    Args:
        m: the projections of the joint batch ``[real (H rows); generated (H rows)]``, ``[2H, B, C]``.
        tower_size: ``T``, real rows per tower (module docstring); None: one tower of ``T = H``.

    Returns:
        ``[2H, 2B]``: columns ``:B`` are :math:`o^\text{real}`, columns ``B:`` are :math:`o^\text{gen}`.

    Shape:
        - m: ``[2H, B, C]``; Output: ``[2H, 2B]``.

    Example::

        >>> m = torch.zeros(4, 3, 5)       # identical rows: every closeness is 1
        >>> joint_minibatch_features(m)[0]  # (1 real + 2 generated neighbours) / (2 * 3)
        tensor([0.1667, 0.1667, 0.1667, 0.3333, 0.3333, 0.3333])
    """
    check_dim("m", m, 3, "[2H, B, C]")
    half = _check_joint(m)
    towers = count_towers(half, tower_size, "joint minibatch features")
    t = half // towers  # rows per half of a tower
    kernels, dim = m.shape[1:]
    # [2H, B, C] -> [2, G, T, B, C] -> [G, B, 2T, C]: each tower's joint rows, real first, per kernel
    by_tower = m.reshape(2, towers, t, kernels, dim).permute(1, 3, 0, 2, 4).reshape(towers * kernels, 2 * t, dim)
    closeness = torch.exp(-_pairwise_l1(by_tower, by_tower))  # [G B, 2T, 2T]
    self_pairs = torch.eye(2 * t, dtype=torch.bool, device=m.device)
    closeness = closeness.masked_fill(self_pairs, 0.0)  # masked, not subtracted: no gradient through i = j
    mask_sum = t * (2 * t - 1)  # the mask's sum over one half's columns, the authors' divisor (496 for T = 16)
    to_real = closeness[:, :, :t].sum(dim=2) / mask_sum  # [G B, 2T]
    to_gen = closeness[:, :, t:].sum(dim=2) / mask_sum  # [G B, 2T]
    features = torch.stack([to_real, to_gen])  # [2 (to real, to gen), G B, 2T]
    # -> [2, G, B, 2 (row is real, generated), T] -> [2 (row half), G, T, 2 (to), B] -> [2H, 2B]
    features = features.reshape(2, towers, kernels, 2, t).permute(3, 1, 4, 0, 2)
    return features.reshape(2 * half, 2 * kernels)


class JointMinibatchDiscrimination(nn.Module):
    r"""The authors' ImageNet minibatch layer: ``f -> [f, o^real(f), o^gen(f)]`` on a joint batch.

    See the module docstring for the equations. ``weight`` ``[B * C, A]`` and
    ``bias`` ``[B * C]`` are a plain :class:`torch.nn.Linear`'s; the weight is
    initialised :math:`\mathcal N(0, \text{init\_std}^2)` and the bias to 0 (the
    authors' ``linear``: std 0.02). The authors' ImageNet model uses B = 300
    kernels of C = 50 dimensions and towers of 16.

    Memory: :math:`O(n^2 B)` for a joint batch of n rows.

    Args:
        in_features: A.
        num_kernels: B. Default: 300.
        kernel_dim: C. Default: 50.
        init_std: standard deviation of the weight's initialisation. Default: 0.02.
        tower_size: real rows per tower (module docstring), or None for one tower. Default: None.

    Shape:
        - Input: ``[2H, A]``, the real half first.
        - Output: ``[2H, A + 2B]``.

    Example::

        >>> layer = JointMinibatchDiscrimination(2560)
        >>> layer(torch.randn(32, 2560)).shape
        torch.Size([32, 3160])
    """

    def __init__(
        self,
        in_features: int,
        num_kernels: int = 300,
        kernel_dim: int = 50,
        *,
        init_std: float = 0.02,
        tower_size: int | None = None,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        check_positive_int("in_features", in_features)
        check_positive_int("num_kernels", num_kernels)
        check_positive_int("kernel_dim", kernel_dim)
        check_positive_float("init_std", init_std)
        factory = {"device": device, "dtype": dtype}
        self.in_features = in_features
        self.num_kernels = num_kernels
        self.kernel_dim = kernel_dim
        self.init_std = init_std
        self.tower_size = tower_size
        self.weight = nn.Parameter(torch.empty(num_kernels * kernel_dim, in_features, **factory))
        self.bias = nn.Parameter(torch.empty(num_kernels * kernel_dim, **factory))
        self.reset_parameters()

    @property
    def out_features(self) -> int:
        """A + 2B, the width of the layer's output."""
        return self.in_features + 2 * self.num_kernels

    def reset_parameters(self) -> None:
        nn.init.normal_(self.weight, mean=0.0, std=self.init_std)
        nn.init.zeros_(self.bias)

    def project(self, x: Tensor) -> Tensor:
        r"""The projections :math:`M_i`: ``[N, A] -> [N, B, C]``."""
        if x.dim() != 2 or x.size(1) != self.in_features:
            raise ValueError(f"expected x of shape [N, {self.in_features}] (got {tuple(x.shape)})")
        return nn.functional.linear(x, self.weight, self.bias).unflatten(1, (self.num_kernels, self.kernel_dim))

    def forward(self, x: Tensor) -> Tensor:
        o = joint_minibatch_features(self.project(x), tower_size=self.tower_size)  # [2H, 2B]
        return torch.cat([x, o], dim=1)  # [2H, A + 2B]

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, num_kernels={self.num_kernels}, kernel_dim={self.kernel_dim}, "
            f"init_std={self.init_std}, tower_size={self.tower_size}, batch=joint [real; generated]"
        )
