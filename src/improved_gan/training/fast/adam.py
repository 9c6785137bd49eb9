r"""Adam fused with the work around it: weight norm's gradient, the weight copy, the norms.

The hand-written backward passes (:mod:`~improved_gan.training.fast.discriminator`,
:mod:`~improved_gan.training.fast.generator`) give each parameter's gradient
factored, as a :class:`Gradient`: a weight-normalised layer's direction ``v``
gets

.. math::
    \nabla_v = (\delta \odot s)^T a \;-\; \frac{s}{\lVert v \rVert^2} \nabla_s \odot v
             = M + c \odot v \quad (\text{one } c \text{ per row}),

so the optimiser can add the second term while it reads ``v`` anyway. One
pass over each parameter then forms the gradient, takes the Adam step
(:class:`torch.optim.Adam`'s update, exactly as its ``foreach`` code states it:
no weight decay, no AMSGrad), writes the compute-dtype copy of the new
parameter for the next products and sums each row's squares for the next
weight norm: a step reads and writes each value once, where PyTorch's
operations would take five passes.

:class:`FusedAdam` *is* a :class:`torch.optim.Adam` (same parameter groups,
same state, same ``state_dict``: checkpoints move freely between it and the
reference step's optimiser); :meth:`FusedAdam.step_with` is its fused update.
On any device but the CPU, or without the native kernels, it runs the same
update as PyTorch operations.
"""

from __future__ import annotations

import ctypes
import math
from dataclasses import dataclass
from typing import Iterable

import torch
from torch import Tensor

from improved_gan.training.fast.native import AdamTensor, pointer, run_split
from improved_gan.training.fast.weights import row_sumsq

_ROW_GRAIN = 16  # rows per thread at least


@dataclass
class Gradient:
    """``d loss / d param = matrix + row_coefficient[:, None] * param`` (no coefficient: ``matrix``).

    Args:
        param: the parameter, ``[R, C]`` or ``[R]``.
        matrix: a tensor of its shape (float32 or the compute dtype).
        row_coefficient: ``[R]`` float32, or None.
        copy: where to write the updated parameter in the compute dtype, or None.
        row_sumsq: ``[R]`` float32, where to write the updated rows' sums of squares, or None.
    """

    param: Tensor
    matrix: Tensor
    row_coefficient: Tensor | None = None
    copy: Tensor | None = None
    row_sumsq: Tensor | None = None

    def dense(self) -> Tensor:
        """The gradient as one float32 tensor."""
        grad = self.matrix.float()
        if self.row_coefficient is not None:
            grad = grad + self.row_coefficient.unsqueeze(1) * self.param.detach()
        return grad

    def finish(self) -> None:
        """Write :attr:`copy` and :attr:`row_sumsq` from the (updated) parameter."""
        with torch.no_grad():
            if self.copy is not None:
                self.copy.copy_(self.param)
            if self.row_sumsq is not None:
                self.row_sumsq.copy_(row_sumsq(self.param))


class FusedAdam(torch.optim.Adam):
    """:class:`torch.optim.Adam` with a one-pass update from factored gradients.

    Constructed like Adam (:meth:`step_with` supports neither ``weight_decay``,
    ``amsgrad`` nor ``maximize``). ``kernels``: the loaded native kernels
    (:func:`~improved_gan.training.fast.native.load_kernels`), or None for the
    PyTorch fallback.
    """

    def __init__(self, params: Iterable[Tensor], *, kernels=None, **adam) -> None:
        super().__init__(params, **adam)
        for group in self.param_groups:
            if group["weight_decay"] or group["amsgrad"] or group["maximize"]:
                raise ValueError("FusedAdam.step_with supports Adam without weight decay, amsgrad or maximize")
        self.kernels = kernels

    @torch.no_grad()
    def step_with(self, gradients: list[Gradient]) -> None:
        """One Adam step on the parameters of ``gradients`` (all of one parameter group)."""
        group = self._group_of(gradients)
        steps = [self._state_of(g.param) for g in gradients]
        torch._foreach_add_(steps, 1.0)
        step = float(steps[0])
        if any(float(s) != step for s in steps[1:]):  # only after loading a foreign state dict
            raise ValueError("FusedAdam.step_with needs the same step count for all parameters")
        if self.kernels is None or any(g.param.device.type != "cpu" for g in gradients):
            self._step_with_torch(gradients, group, step)
            return
        beta1, beta2 = group["betas"]
        table = (AdamTensor * len(gradients))()
        keep = []  # tensors whose pointers the table holds, alive until the call returns
        for entry, g in zip(table, gradients):
            state = self.state[g.param]
            matrix = g.matrix.contiguous()
            coefficient = None if g.row_coefficient is None else g.row_coefficient.float().contiguous()
            tensors = (g.param, state["exp_avg"], state["exp_avg_sq"], g.copy, g.row_sumsq)
            if not all(t is None or t.is_contiguous() for t in tensors):
                raise ValueError("FusedAdam.step_with needs contiguous parameters, state and outputs")
            keep += [matrix, coefficient]
            entry.param, entry.matrix, entry.coef = g.param.data_ptr(), matrix.data_ptr(), pointer(coefficient)
            entry.exp_avg, entry.exp_avg_sq = state["exp_avg"].data_ptr(), state["exp_avg_sq"].data_ptr()
            entry.copy, entry.sumsq = pointer(g.copy), pointer(g.row_sumsq)
            entry.rows = g.param.shape[0] if g.param.dim() == 2 else 1
            entry.cols = g.param.numel() // entry.rows
            entry.matrix_bf16 = matrix.dtype == torch.bfloat16
            entry.copy_bf16 = g.copy is not None and g.copy.dtype == torch.bfloat16
        rows = sum(entry.rows for entry in table)
        run_split(
            self.kernels.igan_adam, rows, _ROW_GRAIN,
            ctypes.addressof(table), len(gradients), group["lr"] / (1 - beta1**step), beta1, beta2, group["eps"],
            math.sqrt(1 - beta2**step),
        )

    def _group_of(self, gradients: list[Gradient]) -> dict:
        for group in self.param_groups:
            members = {id(p) for p in group["params"]}
            if all(id(g.param) in members for g in gradients):
                return group
        raise ValueError("FusedAdam.step_with: the gradients' parameters are not one group of this optimiser")

    def _state_of(self, param: Tensor) -> Tensor:
        """The parameter's step counter, its state created as torch.optim.Adam creates it."""
        state = self.state[param]
        if not state:
            state["step"] = torch.tensor(0.0, dtype=torch.float32)
            state["exp_avg"] = torch.zeros_like(param, memory_format=torch.preserve_format)
            state["exp_avg_sq"] = torch.zeros_like(param, memory_format=torch.preserve_format)
        return state["step"]

    def _step_with_torch(self, gradients: list[Gradient], group: dict, step: float) -> None:
        """The same update as PyTorch operations (other devices; no native kernels)."""
        beta1, beta2 = group["betas"]
        step_size, bias_correction2_sqrt = group["lr"] / (1 - beta1**step), math.sqrt(1 - beta2**step)
        for g in gradients:
            state, grad = self.state[g.param], g.dense()
            state["exp_avg"].lerp_(grad, 1 - beta1)
            state["exp_avg_sq"].mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            denom = (state["exp_avg_sq"].sqrt() / bias_correction2_sqrt).add_(group["eps"])
            g.param.addcdiv_(state["exp_avg"], denom, value=-step_size)
            g.finish()
