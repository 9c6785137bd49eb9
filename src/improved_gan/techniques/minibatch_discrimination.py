r"""Minibatch discrimination (Section 3.2): D sees how close each sample is to the others.

A learned tensor :math:`T \in \mathbb{R}^{A \times B \times C}` maps a feature
vector :math:`\mathbf f(x_i) \in \mathbb{R}^A` to a matrix :math:`M_i \in
\mathbb{R}^{B \times C}`; each of the B rows ("kernels") gives a closeness

.. math::

    c_b(x_i, x_j) = \exp\big(-\lVert M_{i,b} - M_{j,b} \rVert_{L_1}\big),
    \qquad
    o(x_i)_b = \sum_{j \ne i} c_b(x_i, x_j),

and the layer outputs :math:`[\mathbf f(x_i), o(x_i)] \in \mathbb{R}^{A+B}`.
A collapsed generator makes every :math:`o(x_i)_b` close to :math:`n - 1`,
which the discriminator learns to recognise.

Memory and time: the pairwise L1 distances are computed per kernel on
``[B, N, C] x [B, M, C]`` so that the largest tensor, forward and backward, is
``[B, N, M]``: :math:`O(n^2 B)` memory for a batch of
n, never the :math:`O(n^2 B C)` of broadcasting ``M[:, None] - M[None]``, which
autograd keeps for the backward. On the CPU this is :func:`torch.cdist` (``p=1``);
on CUDA, where ``cdist``'s backward allocates ``[B, N, M, C]``, a function of our
own loops over blocks of the C coordinates instead (never over the batch), with
temporaries of at most ``max(B N M, 2^24)`` elements. Time is :math:`O(n^2 B C)`.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from improved_gan.techniques._checks import check_dim, check_positive_float, check_positive_int


def _pairwise_l1(x: Tensor, y: Tensor) -> Tensor:
    """``D[b, i, j] = sum_c |x[b, i, c] - y[b, j, c]|``: ``[B, N, C] x [B, M, C] -> [B, N, M]``."""
    if x.device.type == "cpu":
        return torch.cdist(x, y, p=1)  # fast on the CPU, and its backward never forms [B, N, M, C]
    return _PairwiseL1.apply(x, y)  # on CUDA, cdist (p=1) is slow and its backward allocates [B, N, M, C]


# Temporaries of [k, B, N, M] elements are allowed up to this size (64 MiB in float32), so
# small batches handle many coordinates per step; large ones fall back to k = 1, i.e. [B, N, M].
_CHUNK_ELEMENTS = 2**24


class _PairwiseL1(torch.autograd.Function):
    """``D[b, i, j] = sum_c |x[b, i, c] - y[b, j, c]|``, forward and backward in O(B N M) memory.

    Both passes visit the C coordinates k at a time (a loop over C, never over the
    batch) with k chosen so that the ``[k, B, N, M]`` temporary stays under
    ``_CHUNK_ELEMENTS`` (k >= 1): no ``[B, N, M, C]`` tensor is formed. The gradient
    is ``dD/dx[b, i, c] = sign(x[b, i, c] - y[b, j, c])`` weighted by the incoming
    gradient. The backward is written in differentiable operations, so higher-order
    gradients (e.g. gradient penalties) work.
    """

    @staticmethod
    def _chunks(x: Tensor, y: Tensor):
        """Pairs of ``[k, B, N]`` and ``[k, B, M]`` coordinate blocks."""
        pair_count = x.size(0) * x.size(1) * y.size(1)  # B * N * M
        size = max(1, _CHUNK_ELEMENTS // max(pair_count, 1))
        return zip(x.permute(2, 0, 1).split(size), y.permute(2, 0, 1).split(size))

    @staticmethod
    def forward(ctx, x: Tensor, y: Tensor) -> Tensor:
        ctx.save_for_backward(x, y)
        distances = x.new_zeros(x.size(0), x.size(1), y.size(1))  # [B, N, M]
        for x_k, y_k in _PairwiseL1._chunks(x, y):
            distances.add_((x_k[..., :, None] - y_k[..., None, :]).abs_().sum(0))  # [k, B, N, M] -> [B, N, M]
        return distances

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, Tensor]:
        x, y = ctx.saved_tensors
        grad_x, grad_y = [], []
        for x_k, y_k in _PairwiseL1._chunks(x, y):
            weighted = grad * torch.sign(x_k[..., :, None] - y_k[..., None, :])  # [k, B, N, M]
            grad_x.append(weighted.sum(3))  # [k, B, N]
            grad_y.append(-weighted.sum(2))  # [k, B, M]
        return torch.cat(grad_x).permute(1, 2, 0), torch.cat(grad_y).permute(1, 2, 0)  # [B, N, C], [B, M, C]


def minibatch_features(
    m: Tensor,
    reference: Tensor | None = None,
    *,
    exclude_self: bool | None = None,
) -> Tensor:
    r"""The minibatch features :math:`o(x_i)_b` of already projected rows (Section 3.2).

    .. math::

        o_{i,b} = \sum_{j \in J(i)} \exp\big(-\lVert m_{i,b} - r_{j,b} \rVert_1\big)

    Within a batch (``reference=None``) :math:`r = m` and :math:`J(i)` is every
    other row, :math:`j \ne i` (the paper's "to all other samples", as in the
    authors' code). Against a separate ``reference`` batch, :math:`J(i)` is all of
    its M rows. A self-pair is dropped by masking, not by subtracting
    :math:`\exp(0) = 1`, so no gradient runs through it.

    Args:
        m: the projections :math:`M_i = \mathbf f(x_i)\,T`, ``[N, B, C]``.
        reference: projections of a separate batch, ``[M, B, C]``, or ``None``
            to compare the rows of ``m`` with each other.
        exclude_self: drop the pairs ``(i, i)``. Defaults to ``True`` within a
            batch and ``False`` against a reference; ``True`` with a reference
            means that row ``i`` of ``reference`` is the same sample as row ``i``
            of ``m`` (so ``M`` must equal ``N``).

    Shape:
        - m: ``[N, B, C]``; reference: ``[M, B, C]``.
        - Output: ``[N, B]``.

    Example::

        >>> m = torch.zeros(4, 3, 5)            # four identical rows
        >>> minibatch_features(m)               # each sees n - 1 = 3 twins per kernel
        tensor([[3., 3., 3.],
                [3., 3., 3.],
                [3., 3., 3.],
                [3., 3., 3.]])
    """
    check_dim("m", m, 3, "[N, B, C]")
    if exclude_self is None:
        exclude_self = reference is None
    if reference is None:
        reference = m
    check_dim("reference", reference, 3, "[M, B, C]")
    if reference.shape[1:] != m.shape[1:]:
        raise ValueError(
            f"expected reference of shape [M, {m.size(1)}, {m.size(2)}] to match m "
            f"(got {tuple(reference.shape)})"
        )
    if exclude_self and reference.size(0) != m.size(0):
        raise ValueError(
            "exclude_self=True pairs row i of m with row i of reference, so both need the same "
            f"number of rows (got {m.size(0)} and {reference.size(0)})"
        )
    distances = _pairwise_l1(m.transpose(0, 1), reference.transpose(0, 1))  # [B, N, M]
    closeness = torch.exp(-distances)  # [B, N, M]
    if exclude_self:
        self_pairs = torch.eye(m.size(0), dtype=torch.bool, device=m.device)  # [N, N]
        closeness = closeness.masked_fill(self_pairs, 0.0)
    return closeness.sum(dim=2).transpose(0, 1)  # [N, B]


class MinibatchDiscrimination(nn.Module):
    r"""Minibatch discrimination layer (Section 3.2): ``f -> [f, o(f)]``.

    .. math::

        M_i = \mathbf f(x_i)\,T,\quad
        o(x_i)_b = \sum_{j \ne i} \exp\big(-\lVert M_{i,b} - M_{j,b}\rVert_{L_1}\big) + \text{bias}_b,
        \quad \text{output}_i = [\mathbf f(x_i),\ o(x_i)]

    The paper computes these features *separately* for the real and for the
    generated batch: call the layer once on each (the within-batch mode), never
    on their concatenation, or the discriminator can tell the two halves apart by
    their closeness to each other instead of by their own diversity. With
    ``reference``, each row is instead compared with all rows of another batch.

    ``weight`` is the paper's T, initialised :math:`\mathcal N(0, \text{init\_std}^2)`
    with ``init_std = 0.05`` as in the authors' code; ``bias`` starts at 0. In the
    authors' CIFAR-10 and SVHN models B = 100 kernels of C = 5 dimensions follow
    global average pooling; their ImageNet model uses B = 300, C = 50.

    With ``weight_norm=True`` the layer is the authors' Theano one: ``weight`` is
    then a direction V and T is normalised column by column with a learned
    log-scale ``log_scale`` ``[B, C]``,

    .. math::

        T_{:, b, c} = e^{s_{b,c}}\, V_{:, b, c} / \lVert V_{:, b, c} \rVert_2,

    and :meth:`data_dependent_init` (called for it by
    :func:`improved_gan.layers.init_weight_norm`) sets the scale and the bias
    from a batch of real features: every kernel's distances are divided by half
    the batch's mean nearest-neighbour distance, so that this distance becomes 2
    (:math:`c_b = e^{-2}` for the nearest neighbour instead of a value that
    underflows to 0 or saturates at 1), and the bias is set to minus the mean of
    the resulting :math:`o_b`. Without that initialisation the closeness scale
    depends on the feature scale of whatever layer the minibatch features read,
    and on the permutation-invariant MNIST model the generator collapses within
    an epoch (docs/results.md). Before the initialisation the bias is -1, as in
    the authors' code.

    Memory: :math:`O(n^2 B)` for a batch of n (see :func:`minibatch_features`).

    Args:
        in_features: A, the size of each input feature vector.
        num_kernels: B, the number of minibatch features appended. Default 100.
        kernel_dim: C, the dimension of each kernel's projection. Default 5.
        bias: learn an additive bias per kernel. Default ``True``.
        init_std: standard deviation of T's (or V's) normal initialisation. Default 0.05.
        weight_norm: learn T as a normalised direction times ``exp(log_scale)`` and
            allow :meth:`data_dependent_init` (the authors' layer). Default ``False``.

    Shape:
        - Input: ``x [N, A]``; optional ``reference [M, A]``.
        - Output: ``[N, A + B]``.

    Example::

        >>> layer = MinibatchDiscrimination(250, num_kernels=100, kernel_dim=5)
        >>> layer(torch.randn(64, 250)).shape
        torch.Size([64, 350])
    """

    def __init__(
        self,
        in_features: int,
        num_kernels: int = 100,
        kernel_dim: int = 5,
        *,
        bias: bool = True,
        init_std: float = 0.05,
        weight_norm: bool = False,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__()
        check_positive_int("in_features", in_features)
        check_positive_int("num_kernels", num_kernels)
        check_positive_int("kernel_dim", kernel_dim)
        check_positive_float("init_std", init_std)
        self.in_features = in_features
        self.num_kernels = num_kernels
        self.kernel_dim = kernel_dim
        self.init_std = init_std
        self.weight_norm = weight_norm
        self.weight = nn.Parameter(torch.empty(in_features, num_kernels, kernel_dim, **factory_kwargs))
        if weight_norm:
            self.log_scale = nn.Parameter(torch.empty(num_kernels, kernel_dim, **factory_kwargs))
        else:
            self.register_parameter("log_scale", None)
        if bias:
            self.bias = nn.Parameter(torch.empty(num_kernels, **factory_kwargs))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    @property
    def out_features(self) -> int:
        """A + B, the width of the layer's output."""
        return self.in_features + self.num_kernels

    def reset_parameters(self) -> None:
        """T (or V) ~ N(0, init_std^2); log-scale 0; bias 0 (-1 with ``weight_norm``, the authors' value)."""
        nn.init.normal_(self.weight, mean=0.0, std=self.init_std)
        if self.log_scale is not None:
            nn.init.zeros_(self.log_scale)
        if self.bias is not None:
            nn.init.constant_(self.bias, -1.0 if self.weight_norm else 0.0)

    @property
    def initialises_from_input(self) -> bool:
        """True when :func:`~improved_gan.layers.init_weight_norm` should call :meth:`data_dependent_init`."""
        return self.weight_norm

    def kernel(self) -> Tensor:
        r"""The tensor T, ``[A, B, C]``: ``weight`` itself, or with ``weight_norm`` its
        columns scaled to the norm :math:`e^{s_{b,c}}`."""
        if self.log_scale is None:
            return self.weight
        return self.weight * (self.log_scale.exp() * torch.rsqrt(self.weight.square().sum(0)))  # [A, B, C]

    def project(self, x: Tensor) -> Tensor:
        r"""The projections :math:`M_i = \mathbf f(x_i)\,T`: ``[N, A] -> [N, B, C]``."""
        self._check_input("x", x)
        return (x @ self.kernel().flatten(1)).unflatten(1, (self.num_kernels, self.kernel_dim))

    @torch.no_grad()
    def data_dependent_init(self, x: Tensor) -> Tensor:
        r"""Set the log-scale and the bias from a batch of features ``x`` ``[N, A]`` (``weight_norm`` only).

        With :math:`d_{i,b} = \min_{j \ne i} \lVert M_{i,b} - M_{j,b} \rVert_1` on this
        batch and :math:`h_b = \tfrac12 \operatorname{mean}_i d_{i,b}`:
        :math:`s_{b,c} \leftarrow s_{b,c} - \log h_b` (all C columns of kernel b, so every
        distance of kernel b is divided by :math:`h_b`), then
        :math:`\text{bias}_b \leftarrow -\operatorname{mean}_i o(x_i)_b`. Statistics in
        float32 at least.

        Returns:
            The re-initialised layer's output on ``x``, ``[N, A + B]``, for the layers above.
        """
        if not self.weight_norm:
            raise ValueError("data_dependent_init needs a layer built with weight_norm=True")
        if x.dim() != 2 or x.size(0) < 2:
            raise ValueError(
                f"the data-dependent initialisation needs features [N >= 2, {self.in_features}] (got {tuple(x.shape)})"
            )
        dtype = torch.promote_types(x.dtype, torch.float32)
        m = self.project(x.to(dtype)).transpose(0, 1)  # [B, N, C]
        distances = _pairwise_l1(m, m)  # [B, N, N]
        distances.diagonal(dim1=1, dim2=2).fill_(float("inf"))
        half_mean_nearest = 0.5 * distances.amin(dim=2).mean(dim=1)  # [B]
        if not bool((half_mean_nearest > 0).all() and torch.isfinite(half_mean_nearest).all()):
            raise ValueError(
                "the data-dependent initialisation needs distinct feature rows (some kernel's nearest-"
                "neighbour distance is 0); use a batch of distinct examples"
            )
        self.log_scale.sub_(half_mean_nearest.log().to(self.log_scale.dtype)[:, None])
        o = torch.exp(-distances / half_mean_nearest[:, None, None]).sum(dim=2).transpose(0, 1)  # [N, B]
        mean = o.mean(dim=0)  # [B]
        if self.bias is not None:
            self.bias.copy_(-mean)
            o = o - mean
        return torch.cat([x, o.to(x.dtype)], dim=1)

    def forward(self, x: Tensor, reference: Tensor | None = None) -> Tensor:
        m = self.project(x)  # [N, B, C]
        if reference is None:
            o = minibatch_features(m)  # [N, B]
        else:
            self._check_input("reference", reference)
            o = minibatch_features(m, self.project(reference), exclude_self=False)  # [N, B]
        if self.bias is not None:
            o = o + self.bias
        return torch.cat([x, o], dim=1)  # [N, A + B]

    def _check_input(self, name: str, x: Tensor) -> None:
        if x.dim() != 2 or x.size(1) != self.in_features:
            raise ValueError(f"expected {name} of shape [N, {self.in_features}] (got {tuple(x.shape)})")

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, num_kernels={self.num_kernels}, "
            f"kernel_dim={self.kernel_dim}, bias={self.bias is not None}, init_std={self.init_std}, "
            f"weight_norm={self.weight_norm}"
        )

