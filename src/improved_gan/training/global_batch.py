r"""The whole batch under data parallelism: statistics over every rank's rows, with their gradients.

Under ``torchrun`` each of N ranks holds ``B/N`` rows of the global batch B
(:meth:`~improved_gan.training.distributed.DistributedContext.shard`). Where the
paper's method is defined over the batch, a rank must see the global batch or
N ranks compute something else than one process of batch B:

- **G's batch norm** (:class:`~improved_gan.layers.BatchStatisticsNorm`):
  :class:`GlobalBatchStatisticsNorm` normalises with the mean and variance of the
  global batch;
- **feature matching** (Section 3.1): :func:`global_mean` gives the means of D's
  features over the global batch (the step passes it to
  :func:`~improved_gan.techniques.feature_matching_loss` as ``batch_mean``);
- **minibatch discrimination** (Section 3.2): :class:`GlobalMinibatchDiscrimination`
  compares each row with every row of the global batch.

:func:`use_global_batch` turns a model's layers of the first and the last kind
into these (:func:`make_global`: same objects, parameters and ``state_dict``). Both act only in training mode: in eval mode
(a rank's sample grid, its test errors) a call sees its own batch, as a single
process does.

**Gradients.** Every collective here is differentiable: the backward of the
all-reduce :math:`y = \sum_r x_r` is the all-reduce of the incoming gradients,
and that of the all-gather is the all-reduce of the gathered gradient, of which
rank r keeps its rows. With rank r's loss :math:`L_r` (equal on every rank for
feature matching, a mean over the rank's rows for D's losses), rank r's gradient
is its share of :math:`\nabla_\theta \sum_{r'} L_{r'}` through its own rows, and
the mean over the ranks that the optimisers take before stepping
(:func:`~improved_gan.training.distributed.average_gradients_before_step`) is
the one-process gradient: :math:`\frac1N \nabla \sum_r L_r`, which is
:math:`\nabla L` for a global loss and the gradient of the global mean for a
per-row loss.

Every rank must make the same calls in the same order (collectives pair up
across ranks): the steps do, since every rank runs the same graph.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import Tensor, nn

from improved_gan.layers import BatchStatisticsNorm
from improved_gan.techniques import MinibatchDiscrimination
from improved_gan.techniques.minibatch_discrimination import _pairwise_l1
from improved_gan.training.distributed import DistributedContext

__all__ = [
    "GlobalBatchStatisticsNorm",
    "GlobalMinibatchDiscrimination",
    "all_gather_rows",
    "all_reduce_sum",
    "global_mean",
    "make_global",
    "use_global_batch",
]


class _AllReduceSum(torch.autograd.Function):
    """``sum_r x_r`` on every rank; backward: the sum over the ranks of the incoming gradients."""

    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:
        total = x.clone(memory_format=torch.contiguous_format)
        dist.all_reduce(total)
        return total

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        return _AllReduceSum.apply(grad)


class _AllGatherRows(torch.autograd.Function):
    """``[n, *] -> [N n, *]``, rank r's rows at ``r n : (r+1) n``; backward: rank r's rows of the summed gradient."""

    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:
        x = x.contiguous()
        parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, x)
        ctx.rows = len(x)
        return torch.cat(parts)

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        rank = dist.get_rank()
        return _AllReduceSum.apply(grad)[rank * ctx.rows : (rank + 1) * ctx.rows]


def all_reduce_sum(x: Tensor, context: DistributedContext) -> Tensor:
    """``x`` summed over the ranks (same shape), differentiable; ``x`` itself for one process."""
    return _AllReduceSum.apply(x) if context.enabled else x


def all_gather_rows(x: Tensor, context: DistributedContext) -> Tensor:
    """Every rank's rows in rank order, ``[n, *] -> [N n, *]`` (equal ``n`` on every rank), differentiable."""
    return _AllGatherRows.apply(x) if context.enabled else x


def global_mean(x: Tensor, context: DistributedContext) -> Tensor:
    """The mean over the rows of the global batch: ``[n, *] -> [*]``, ``n`` rows on each of N ranks.

    The mean of each rank's mean (the ranks hold equal shares), differentiable. For one
    process ``x.mean(0)``.
    """
    if not context.enabled:
        return x.mean(0)
    return all_reduce_sum(x.mean(0), context) / context.world_size


class GlobalBatchStatisticsNorm(BatchStatisticsNorm):
    r""":class:`~improved_gan.layers.BatchStatisticsNorm` over the global batch, in training mode.

    .. math::
        y = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}} + b,\quad
        \mu = \tfrac1{B}\textstyle\sum_{\text{global}} x,\quad
        \sigma^2 = \tfrac1{B}\textstyle\sum_{\text{global}} (x - \mu)^2

    per feature (and over the H x W positions of a feature map), the sums over the
    ``B/N`` rows of every rank: two differentiable all-reduces, the second on the
    centred squares (the two-pass variance, as exact as one process's). In eval mode
    the rank's own batch, as :class:`BatchStatisticsNorm`.

    Made from a built layer by :func:`make_global` (or :func:`use_global_batch`), after
    which it holds ``context``, the process group's context.

    Shape:
        - Input: ``[n, C]`` or ``[n, C, H, W]`` (the rank's rows); Output: the same.
    """

    context: DistributedContext

    def forward(self, x: Tensor) -> Tensor:
        if not (self.training and self.context.enabled):
            return super().forward(x)
        if x.dim() not in (2, 4) or x.shape[1] != self.num_features:
            raise ValueError(
                f"expected input of shape [n, {self.num_features}] or [n, {self.num_features}, H, W]"
                f" (got {list(x.shape)})"
            )
        dims = [0, *range(2, x.dim())]
        shape = (1, -1) + (1,) * (x.dim() - 2)
        count = x.numel() // x.shape[1] * self.context.world_size  # values per feature in the global batch
        mean = all_reduce_sum(x.sum(dims), self.context) / count  # [C]
        centred = x - mean.view(shape)
        variance = all_reduce_sum(centred.square().sum(dims), self.context) / count  # [C], biased
        normalised = centred * torch.rsqrt(variance + self.eps).view(shape)
        return normalised + self.bias.to(normalised.dtype).view(shape)

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, scale=False, statistics=global batch"


class GlobalMinibatchDiscrimination(MinibatchDiscrimination):
    r""":class:`~improved_gan.techniques.MinibatchDiscrimination` against every row of the global batch.

    :math:`o(x_i)_b = \sum_{j \ne i} \exp(-\lVert M_{i,b} - M_{j,b} \rVert_1)` with j over
    the global batch: the rank's projections ``[n, B, C]`` are compared with the
    all-gathered ``[N n, B, C]``, row i's own pair (at ``rank n + i``) masked out. In
    eval mode, or against an explicit ``reference`` batch, the layer's own behaviour.
    Made from a built layer by :func:`make_global` (or :func:`use_global_batch`).
    """

    context: DistributedContext

    def forward(self, x: Tensor, reference: Tensor | None = None) -> Tensor:
        if reference is not None or not (self.training and self.context.enabled):
            return super().forward(x, reference)
        m = self.project(x)  # [n, B, C]
        everyone = all_gather_rows(m, self.context)  # [N n, B, C]
        distances = _pairwise_l1(m.transpose(0, 1), everyone.transpose(0, 1))  # [B, n, N n]
        closeness = torch.exp(-distances)
        own = torch.arange(len(x), device=x.device)
        self_pairs = torch.zeros(len(x), len(everyone), dtype=torch.bool, device=x.device)
        self_pairs[own, own + self.context.rank * len(x)] = True
        o = closeness.masked_fill(self_pairs, 0.0).sum(dim=2).transpose(0, 1)  # [n, B]
        if self.bias is not None:
            o = o + self.bias
        return torch.cat([x, o], dim=1)  # [n, A + B]


_GLOBAL = {BatchStatisticsNorm: GlobalBatchStatisticsNorm, MinibatchDiscrimination: GlobalMinibatchDiscrimination}


def make_global(layer: nn.Module, context: DistributedContext) -> nn.Module:
    """``layer`` (a :class:`BatchStatisticsNorm` or :class:`MinibatchDiscrimination`) turned global in place.

    Its class is swapped for the global one: the same object, parameters and ``state_dict``
    (an optimiser built on them goes on updating them), plus ``context``.
    """
    if type(layer) not in _GLOBAL:
        raise TypeError(f"expected one of {[c.__name__ for c in _GLOBAL]} (got {type(layer).__name__})")
    layer.__class__ = _GLOBAL[type(layer)]
    layer.context = context
    return layer


def use_global_batch(model: nn.Module, context: DistributedContext) -> list[str]:
    """Make ``model``'s batch norms and minibatch layers global (in place); returns the swapped layers' names.

    A no-op for one process. Call it after the data-dependent initialisation and the
    broadcast (both run on the whole init batch of every rank, as one process runs them).
    """
    if not context.enabled:
        return []
    swapped = [name for name, module in model.named_modules() if type(module) in _GLOBAL]
    for name in swapped:
        make_global(model.get_submodule(name), context)
    return swapped
