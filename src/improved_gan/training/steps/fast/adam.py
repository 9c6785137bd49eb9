r"""Adam fused with the work around it: weight norm's gradient, the weight copy, the norms, the EMA.

The hand-written backward passes (:mod:`~improved_gan.training.steps.fast.discriminator`,
:mod:`~improved_gan.training.steps.fast.generator`) give each parameter's gradient
factored, as a :class:`Gradient`: a weight-normalised layer's direction ``v``
gets

.. math::
    \nabla_v = (\delta \odot s)^T a \;-\; \frac{s}{\lVert v \rVert^2} \nabla_s \odot v
             = M + c \odot v \quad (\text{one } c \text{ per row}),

so the update can add the second term while it reads ``v`` anyway. One pass
over each parameter then forms the gradient, takes the Adam step, writes the
compute-dtype copy of the new parameter for the next products, sums each
row's squares for the next weight norm and, where asked (the discriminator's
EMA), folds the new value into its running average: each value is read and written once,
where PyTorch's operations take five passes or more.

:class:`FusedAdamUpdate` updates the reference step's own optimiser (its
state, its parameter groups), whichever of the two Adams the config chose
(:mod:`improved_gan.training.optim`: the authors' with eps inside the square
root, or torch's with eps outside); off the CPU, or without the native
kernels, it calls that optimiser's own ``step()``.
"""

from __future__ import annotations

import ctypes
import math
from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import Tensor

from improved_gan.training.steps.fast.native import AdamScalars, AdamTensor, pointer
from improved_gan.training.steps.fast.weights import row_sumsq
from improved_gan.training.optim import AuthorsAdam


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


def eps_inside_root(optimizer: torch.optim.Optimizer) -> bool | None:
    """Which Adam ``optimizer`` is: True for the authors' (eps inside the root,
    :class:`~improved_gan.training.optim.AuthorsAdam`), False for :class:`torch.optim.Adam`
    (without weight decay, AMSGrad, maximize or capturable state), None for anything else."""
    if isinstance(optimizer, AuthorsAdam):
        return True
    if type(optimizer) is torch.optim.Adam:
        plain = all(
            not group.get(option) for group in optimizer.param_groups
            for option in ("weight_decay", "amsgrad", "maximize", "capturable", "differentiable")
        )
        return False if plain else None
    return None


class UnsupportedOptimizer(ValueError):
    """The reference step's optimiser is not one of the two Adams :class:`FusedAdamUpdate` implements."""


class FusedAdamUpdate:
    """Adam steps on ``optimizer``'s parameters and state, in one pass per parameter.

    ``optimizer`` stays the reference step's own object (its parameter groups,
    learning rate and state dict are read and written as its own ``step()``
    would), so checkpoints and :meth:`ReferenceStep.set_lr` work unchanged.

    Args:
        optimizer: a :class:`torch.optim.Adam` or the authors' Adam (see :func:`eps_inside_root`).
        kernels: the loaded native kernels, or None: then :meth:`step` sets the
            gradients and calls ``optimizer.step()`` (other devices, no compiler).
    """

    def __init__(self, optimizer: torch.optim.Optimizer, *, kernels=None) -> None:
        inside = eps_inside_root(optimizer)
        if inside is None:
            raise UnsupportedOptimizer(f"FusedAdamUpdate implements plain Adam only (got {type(optimizer).__name__})")
        self.optimizer = optimizer
        self.eps_inside_root = inside
        self.kernels = kernels
        self._layouts: dict[int, tuple] = {}  # id(param) -> (exp_avg, exp_avg_sq, layout)

    @torch.no_grad()
    def step(
        self, gradients: list[Gradient], *, averages: Mapping[int, Tensor] | None = None, average_rate: float = 0.0
    ) -> None:
        """One Adam step on the parameters of ``gradients`` (all of one parameter group).

        ``averages`` (``id(param) -> average``, e.g.
        :meth:`~improved_gan.training.ema.ExponentialMovingAverage.averages_of`): fold each
        updated parameter into its running average, ``average.lerp_(param, average_rate)``,
        in the same pass; every parameter of ``gradients`` must have one.
        """
        if self.kernels is None or any(g.param.device.type != "cpu" for g in gradients):
            self._step_with_optimizer(gradients)
            if averages is not None:
                torch._foreach_lerp_([averages[id(g.param)] for g in gradients], [g.param for g in gradients], average_rate)
            return
        group = self._group_of(gradients)
        steps = [self._state_of(g.param)["step"] for g in gradients]
        torch._foreach_add_(steps, 1.0)
        counts = torch.stack(steps)  # one comparison, not one .item() per parameter
        step = float(counts[0])
        if not bool((counts == step).all()):  # only after loading a foreign state dict
            raise ValueError("FusedAdamUpdate needs the same step count for all parameters")
        beta1, beta2 = group["betas"]
        scalars = AdamScalars(
            neg_step_size=-group["lr"] / (1 - beta1**step), beta1=beta1, beta2=beta2, eps=group["eps"],
            bias_correction2=1 - beta2**step, bias_correction2_sqrt=math.sqrt(1 - beta2**step),
            eps_inside_root=self.eps_inside_root, average_rate=average_rate,
        )
        table = (AdamTensor * len(gradients))()
        keep = []  # the tensors whose addresses the table holds, alive until the call returns
        for entry, g in zip(table, gradients):
            param_ptr, exp_avg_ptr, exp_avg_sq_ptr, entry.rows, entry.cols = self._layout(g.param)
            matrix = g.matrix.contiguous()
            coefficient = None if g.row_coefficient is None else g.row_coefficient.float().contiguous()
            if not (g.copy is None or g.copy.is_contiguous()) or not (g.row_sumsq is None or g.row_sumsq.is_contiguous()):
                raise ValueError("FusedAdamUpdate needs contiguous outputs")
            keep += [matrix, coefficient]
            entry.param, entry.matrix, entry.coef = param_ptr, matrix.data_ptr(), pointer(coefficient)
            entry.exp_avg, entry.exp_avg_sq = exp_avg_ptr, exp_avg_sq_ptr
            entry.copy, entry.sumsq = pointer(g.copy), pointer(g.row_sumsq)
            if averages is not None:
                average = averages[id(g.param)]
                if not (average.is_contiguous() and average.dtype == torch.float32 and average.shape == g.param.shape):
                    raise ValueError("FusedAdamUpdate needs contiguous float32 averages of the parameters' shapes")
                entry.average = average.data_ptr()
            entry.matrix_bf16 = matrix.dtype == torch.bfloat16
            entry.copy_bf16 = g.copy is not None and g.copy.dtype == torch.bfloat16
        self.kernels.igan_adam(ctypes.addressof(table), len(gradients), ctypes.byref(scalars))

    def _layout(self, param: Tensor) -> tuple[int, int, int, int, int]:
        """``(param, exp_avg, exp_avg_sq addresses, rows, cols)``, checked again whenever the state
        tensors (``load_state_dict`` brings new ones) or the parameter's storage change."""
        state = self.optimizer.state[param]
        cached = self._layouts.get(id(param))
        if (cached is not None and cached[0] is state["exp_avg"] and cached[1] is state["exp_avg_sq"]
                and cached[2][0] == param.data_ptr()):
            return cached[2]
        tensors = (param, state["exp_avg"], state["exp_avg_sq"])
        if not all(t.is_contiguous() and t.dtype == torch.float32 for t in tensors):
            raise ValueError("FusedAdamUpdate needs contiguous float32 parameters and state")
        rows = param.shape[0] if param.dim() == 2 else 1
        layout = (*(t.data_ptr() for t in tensors), rows, param.numel() // rows)
        self._layouts[id(param)] = (state["exp_avg"], state["exp_avg_sq"], layout)
        return layout

    def _group_of(self, gradients: list[Gradient]) -> dict:
        for group in self.optimizer.param_groups:
            members = {id(p) for p in group["params"]}
            if all(id(g.param) in members for g in gradients):
                return group
        raise ValueError("FusedAdamUpdate: the gradients' parameters are not one group of the optimiser")

    def _state_of(self, param: Tensor) -> dict:
        """The parameter's state, created as both Adams create it."""
        state = self.optimizer.state[param]
        if not state:
            state["step"] = torch.zeros((), dtype=torch.float32)
            state["exp_avg"] = torch.zeros_like(param, memory_format=torch.preserve_format)
            state["exp_avg_sq"] = torch.zeros_like(param, memory_format=torch.preserve_format)
        return state

    def _step_with_optimizer(self, gradients: list[Gradient]) -> None:
        """The optimiser's own step on the dense gradients, then the copies and norms."""
        for g in gradients:
            g.param.grad = g.dense()
        self.optimizer.step()
        for g in gradients:
            g.param.grad = None
            g.finish()
