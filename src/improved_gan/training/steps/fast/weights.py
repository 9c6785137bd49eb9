r"""Weights in the compute dtype, with weight norm applied once per parameter update.

A weight-normalised layer computes ``y = (x v^T) * s + b`` with the per-unit
scale :math:`s = g / \lVert v \rVert` (Salimans & Kingma, 2016). The scale and
the compute-dtype copy of ``v`` depend on the parameters only, so they are
computed once after each optimiser step and shared by every pass until the
next one: in one iteration the discriminator's are used by its own step's
forward and backward passes, by the generator's step (which reads the real
and the generated batch with them) and by the next discriminator step.

:class:`DerivedWeights` notices changes to the parameters through their
version counters (``load_state_dict``, ``copy_`` and other in-place
updates). The fused Adam update (:mod:`~improved_gan.training.steps.fast.adam`)
writes the new copies and norms itself, behind the counters' back, and the
step then calls :meth:`DerivedWeights.restamp`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Generic, TypeVar

import torch
from torch import Tensor, nn

from improved_gan.layers import WeightNormLinear

T = TypeVar("T")


@dataclass
class WeightNormWeights:
    r"""A :class:`WeightNormLinear`'s weights for one parameter version.

    Attributes:
        v: ``[U, I]`` the direction in the compute dtype (the parameter itself in float32).
        sumsq: ``[U]`` float32 :math:`\lVert v \rVert^2`.
        inv_norm: ``[U]`` float32 :math:`1 / \lVert v \rVert`.
        scale: ``[U]`` float32 :math:`s = g / \lVert v \rVert`.
        bias: ``[U]`` the float32 bias parameter.
    """

    v: Tensor
    sumsq: Tensor
    inv_norm: Tensor
    scale: Tensor
    bias: Tensor

    def rescale(self, g: Tensor) -> None:
        """Recompute :attr:`inv_norm` and :attr:`scale` from :attr:`sumsq` and the scale parameter ``g``."""
        with torch.no_grad():
            torch.rsqrt(self.sumsq, out=self.inv_norm)
            torch.mul(g, self.inv_norm, out=self.scale)


def row_sumsq(v: Tensor) -> Tensor:
    """``[U, I] -> [U]``: each row's sum of squares (as :func:`improved_gan.layers.weight_norm_scale`)."""
    return v.square().sum(dim=1)


def weight_norm_weights(
    layer: WeightNormLinear, dtype: torch.dtype, *, sumsq: Callable[[Tensor], Tensor] = row_sumsq
) -> WeightNormWeights:
    """The compute weights of ``layer``; ``sumsq`` computes the rows' sums of squares of ``v``
    (in the same arithmetic as the optimiser that updates them, so that a resumed run's equal
    an uninterrupted run's)."""
    with torch.no_grad():
        v = layer.weight_v.detach()
        sumsq = sumsq(v)
        inv_norm = torch.rsqrt(sumsq)
        return WeightNormWeights(compute_copy(v, dtype), sumsq, inv_norm, layer.weight_g.detach() * inv_norm, layer.bias.detach())


def compute_copy(parameter: Tensor, dtype: torch.dtype) -> Tensor:
    """``parameter`` in the compute dtype (itself, not a copy, when it already is)."""
    return parameter.detach().to(dtype)


def copy_target(parameter: Tensor, copy: Tensor) -> Tensor | None:
    """Where an update of ``parameter`` must also write its compute copy: None when ``copy`` is the parameter."""
    return None if copy.data_ptr() == parameter.data_ptr() else copy


class DerivedWeights(Generic[T]):
    """``build()``'s result, rebuilt only when one of ``tensors`` has changed since.

    Args:
        tensors: the parameters and buffers the result is derived from.
        build: computes the result from their current values.
    """

    def __init__(self, tensors: list[Tensor], build: Callable[[], T]) -> None:
        self.tensors = tensors
        self.build = build
        self._stamp: tuple | None = None
        self._value: T | None = None

    def _current_stamp(self) -> tuple:
        return tuple((t.data_ptr(), t._version) for t in self.tensors)

    def invalidate(self) -> None:
        """Forget the result: the tensors were changed behind their version counters."""
        self._stamp = None

    def restamp(self) -> None:
        """Declare the result current: whoever changed the tensors updated it too."""
        self._stamp = self._current_stamp()

    def get_unchecked(self) -> T:
        """The last result, changed tensors or not (for whoever is updating it)."""
        if self._value is None:
            return self.get()
        return self._value

    def get(self) -> T:
        stamp = self._current_stamp()
        if stamp != self._stamp:
            self._value = self.build()
            self._stamp = stamp
        return self._value


def module_tensors(modules: list[nn.Module]) -> list[Tensor]:
    """Every parameter and buffer of ``modules`` (what their derived weights depend on)."""
    return [t for m in modules for t in (*m.parameters(), *m.buffers())]
