r"""Minibatch features on the joint real + generated batch: the authors' ImageNet variant of Section 3.2.

The paper's minibatch discrimination (:mod:`.minibatch_discrimination`)
compares each example with the others of its own batch, and is computed
separately for the real and the generated batch. The authors' ImageNet
discriminator (docs/reference.md, "ImageNet 128x128") instead computes it on
the joint batch ``[real; generated]`` of a tower (two halves of ``H`` rows) and
gives each example **two** closeness sums per kernel, one to the real half and,
apart, one to the generated half, self excluded, each divided by a count:

.. math::

    M_i = W^\top \mathbf f(x_i) + b \in \mathbb R^{B \times C}, \qquad
    c_b(i, j) = \exp\big(-\lVert M_{i,b} - M_{j,b} \rVert_{L_1}\big),

    o^\text{real}_{i,b} = \frac{1}{n^\text{real}_i} \sum_{j \in \text{real},\, j \ne i} c_b(i, j), \qquad
    o^\text{gen}_{i,b} = \frac{1}{n^\text{gen}_i} \sum_{j \in \text{gen},\, j \ne i} c_b(i, j),

where the count is the number of terms summed: :math:`n^\text{real}_i = H - 1`
for a real row and :math:`H` for a generated one, and the other way round for
:math:`n^\text{gen}_i` (our reading of "divided by a count": a mean closeness,
so the features do not grow with the batch). The projection is a plain linear
layer with a bias (no weight normalisation, no learned closeness scale), and
the output is ``[f(x_i), o^real_i, o^gen_i]``.

Unlike the paper's version, every row depends on *both* halves, so the layer
must always see a joint batch with the real half first.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

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


def joint_minibatch_features(m: Tensor) -> Tensor:
    r"""Each row's mean closeness to the real half and to the generated half, self excluded.

    Args:
        m: the projections of the joint batch ``[real (H rows); generated (H rows)]``, ``[2H, B, C]``.

    Returns:
        ``[2H, 2B]``: columns ``:B`` are :math:`o^\text{real}`, columns ``B:`` are :math:`o^\text{gen}`.

    Shape:
        - m: ``[2H, B, C]``; Output: ``[2H, 2B]``.

    Example::

        >>> m = torch.zeros(4, 3, 5)       # identical rows: every closeness is 1
        >>> joint_minibatch_features(m)[0]
        tensor([1., 1., 1., 1., 1., 1.])
    """
    check_dim("m", m, 3, "[2H, B, C]")
    half = _check_joint(m)
    rows = m.size(0)
    by_kernel = m.transpose(0, 1)  # [B, 2H, C]
    closeness = torch.exp(-_pairwise_l1(by_kernel, by_kernel))  # [B, 2H, 2H]
    self_pairs = torch.eye(rows, dtype=torch.bool, device=m.device)
    closeness = closeness.masked_fill(self_pairs, 0.0)  # masked, not subtracted: no gradient through i = j
    to_real = closeness[:, :, :half].sum(dim=2)  # [B, 2H]
    to_gen = closeness[:, :, half:].sum(dim=2)  # [B, 2H]
    is_real = torch.arange(rows, device=m.device) < half  # [2H]
    count_real = (half - is_real.to(m.dtype))  # H - 1 for real rows, H for generated
    count_gen = (half - (~is_real).to(m.dtype))  # H for real rows, H - 1 for generated
    return torch.cat([(to_real / count_real).T, (to_gen / count_gen).T], dim=1)  # [2H, 2B]


class JointMinibatchDiscrimination(nn.Module):
    r"""The authors' ImageNet minibatch layer: ``f -> [f, o^real(f), o^gen(f)]`` on a joint batch.

    See the module docstring for the equations. ``weight`` ``[B * C, A]`` and
    ``bias`` ``[B * C]`` are a plain :class:`torch.nn.Linear`'s; the weight is
    initialised :math:`\mathcal N(0, \text{init\_std}^2)` (DCGAN's 0.02, our
    choice: the reference does not give it) and the bias to 0. The authors'
    ImageNet model uses B = 300 kernels of C = 50 dimensions.

    Memory: :math:`O(n^2 B)` for a joint batch of n rows.

    Args:
        in_features: A.
        num_kernels: B. Default: 300.
        kernel_dim: C. Default: 50.
        init_std: standard deviation of the weight's initialisation. Default: 0.02.

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
        o = joint_minibatch_features(self.project(x))  # [2H, 2B]
        return torch.cat([x, o], dim=1)  # [2H, A + 2B]

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, num_kernels={self.num_kernels}, kernel_dim={self.kernel_dim}, "
            f"init_std={self.init_std}, batch=joint [real; generated]"
        )
