r"""The element-wise work between the matrix products, in two implementations.

Between two products of the MNIST networks the work is element-wise (plus
reductions over the batch), and PyTorch spends as long on it as on the
products: one kernel per operation, each a pass over memory, some of them
scalar code (on this project's CPU ``F.softplus`` takes 12 ns per element and
``torch.where`` with a scalar 5 ns). Each method here does one such stretch in
one pass:

- forward, discriminator: :meth:`~TorchOps.scale_bias_relu_noise`
  (:math:`h = \max(p \odot s + b, 0)`, :math:`a = h + \sigma\varepsilon`, cast)
  and :meth:`~TorchOps.input_noise`;
- forward, generator: :meth:`~TorchOps.batch_norm_softplus`;
- backward: :meth:`~TorchOps.dense_backward` (through ReLU or sigmoid and the
  weight-norm scale, with the bias and scale gradients) and
  :meth:`~TorchOps.batch_norm_softplus_backward`.

:class:`TorchOps` states each as PyTorch expressions (any device; the
specification the tests check against); :class:`NativeOps` runs the C kernels
of ``kernels.c`` (CPU). Both keep float32 for everything that is stored or
reduced, and round only the next product's operand to the compute dtype.

Noise: :class:`NativeOps` draws counter-based Philox-4x32-10 + Box-Muller
normals (0.9 ns each on one core here, added and stored, against 2.7 ns for
``torch.randn`` alone):
a forward pass takes one 63-bit key from PyTorch's global generator and layer
``i`` draws stream ``i`` of it, so ``torch.manual_seed`` seeds the noise and a
checkpoint's torch RNG state resumes it exactly. :class:`TorchOps` draws with
``torch.randn`` (or a given sampler).
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from improved_gan.training.steps.fast.native import load_kernels, pointer
from improved_gan.training.steps.fast.weights import row_sumsq

NormalSampler = Callable[[tuple[int, ...], torch.device], Tensor]
RELU, SIGMOID = "relu", "sigmoid"
_ACTIVATION_CODES = {None: 0, RELU: 1, SIGMOID: 2}


def _torch_normal(shape: tuple[int, ...], device: torch.device) -> Tensor:
    return torch.randn(shape, device=device)


class TorchOps:
    """The element-wise stretches as PyTorch expressions.

    Args:
        normal: ``normal(shape, device)`` draws standard normal noise (float32);
            default ``torch.randn``.
    """

    kernels = None  # no native kernels (the optimiser then runs its own step)

    def __init__(self, *, normal: NormalSampler = _torch_normal) -> None:
        self.normal = normal

    def new_key(self) -> int:
        return 0  # torch.randn keeps its own state

    @staticmethod
    def row_sumsq(v: Tensor) -> Tensor:
        """``[U, I] -> [U]``: each row's sum of squares, as the optimiser's PyTorch path computes it."""
        return row_sumsq(v)

    # -- forward ----------------------------------------------------------------------
    def input_noise(self, x: Tensor, std: float, dtype: torch.dtype, key: int, stream: int) -> Tensor:
        """``cast(x + std * eps)``. Shape: ``[N, D] -> [N, D]``."""
        if std:
            x = torch.add(x, self.normal(tuple(x.shape), x.device), alpha=std)
        return x.to(dtype)

    def scale_bias_relu_noise(
        self, p: Tensor, scale: Tensor, bias: Tensor, std: float, dtype: torch.dtype | None, key: int, stream: int
    ) -> tuple[Tensor, Tensor | None]:
        """``h = relu(p * scale + bias)`` (float32) and ``a = cast(h + std * eps)``
        (None when ``dtype`` is None). Shapes: ``p [N, U]``, ``scale, bias [U]``."""
        h = torch.addcmul(bias, p.float(), scale).relu_()
        if dtype is None:
            return h, None
        a = torch.add(h, self.normal(tuple(h.shape), h.device), alpha=std) if std else h
        return h, a.to(dtype)

    def batch_norm_softplus(
        self, q: Tensor, bias: Tensor, eps: float, dtype: torch.dtype
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Batch statistics, bias, softplus: ``(q_hat, slope, inv_std, u)`` with
        ``q_hat = (q - mean) * inv_std``, ``u = cast(softplus(q_hat + bias))`` and
        ``slope = sigmoid(q_hat + bias)`` (softplus' derivative). Shapes: ``q [N, U]``, ``inv_std [U]``."""
        q = q.float()
        var, mean = torch.var_mean(q, dim=0, correction=0)
        inv_std = torch.rsqrt(var + eps)
        q_hat = (q - mean) * inv_std
        y = q_hat + bias
        return q_hat, torch.sigmoid(y), inv_std, F.softplus(y).to(dtype)

    # -- backward ---------------------------------------------------------------------
    def dense_backward(
        self, grad: Tensor, out: Tensor | None, activation: str | None, p: Tensor | None, scale: Tensor,
        dtype: torch.dtype,
    ) -> tuple[Tensor, Tensor | None, Tensor | None]:
        """Through ``out = act(p * scale + bias)``: ``delta = grad * act'`` and
        ``(cast(delta * scale), sum_n delta, sum_n delta * p)``; the sums are None
        when ``p`` is None. ``act``: ``"relu"``, ``"sigmoid"`` or None."""
        delta = grad.float()
        if activation == RELU:
            delta = delta * (out > 0)
        elif activation == SIGMOID:
            delta = delta * out * (1.0 - out)
        dp = (delta * scale).to(dtype)
        if p is None:
            return dp, None, None
        return dp, delta.sum(0), (delta * p.float()).sum(0)

    def batch_norm_softplus_backward(
        self, grad_u: Tensor, slope: Tensor, q_hat: Tensor, inv_std: Tensor, dtype: torch.dtype
    ) -> tuple[Tensor, Tensor]:
        """``(cast(grad_q), grad_bias)`` through :meth:`batch_norm_softplus`."""
        gamma = grad_u.float() * slope
        grad_q = (gamma - gamma.mean(0) - q_hat * (gamma * q_hat).mean(0)) * inv_std
        return grad_q.to(dtype), gamma.sum(0)


class NativeOps:
    """The element-wise stretches as the C kernels (CPU, contiguous float32/bfloat16 tensors)."""

    def __init__(self) -> None:
        self.kernels = load_kernels()

    @staticmethod
    def new_key() -> int:
        """A 63-bit Philox key from PyTorch's global CPU generator."""
        return int(torch.empty((), dtype=torch.int64).random_())

    def row_sumsq(self, v: Tensor) -> Tensor:
        """Each row's sum of squares, in the order the fused Adam kernel adds them."""
        v = _float32(v)
        rows = v.shape[0]
        out = torch.empty(rows)
        self.kernels.igan_row_sumsq(v.data_ptr(), rows, v.numel() // rows, out.data_ptr())
        return out

    # -- forward ----------------------------------------------------------------------
    def input_noise(self, x: Tensor, std: float, dtype: torch.dtype, key: int, stream: int) -> Tensor:
        x = _float32(x)
        out = torch.empty(x.shape, dtype=dtype)
        self.kernels.igan_add_noise(
            x.data_ptr(), x.numel(), out.data_ptr(), _is_bf16(dtype), std, key, stream,
        )
        return out

    def scale_bias_relu_noise(
        self, p: Tensor, scale: Tensor, bias: Tensor, std: float, dtype: torch.dtype | None, key: int, stream: int
    ) -> tuple[Tensor, Tensor | None]:
        p, scale, bias = p.contiguous(), _float32(scale), _float32(bias)  # (kept alive through the call)
        rows, units = p.shape
        h = torch.empty(rows, units)
        a = None if dtype is None else torch.empty(rows, units, dtype=dtype)
        self.kernels.igan_scale_bias_relu_noise(
            p.data_ptr(), _is_bf16(p.dtype), scale.data_ptr(), bias.data_ptr(), rows, units,
            h.data_ptr(), None if a is None else a.data_ptr(), _is_bf16(dtype), std, key, stream,
        )
        return h, a

    def batch_norm_softplus(
        self, q: Tensor, bias: Tensor, eps: float, dtype: torch.dtype
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        q, bias = q.contiguous(), _float32(bias)
        rows, units = q.shape
        q_hat, slope, inv_std = torch.empty(rows, units), torch.empty(rows, units), torch.empty(units)
        u = torch.empty(rows, units, dtype=dtype)
        self.kernels.igan_batch_norm_softplus(
            q.data_ptr(), _is_bf16(q.dtype), bias.data_ptr(), rows, units, eps,
            q_hat.data_ptr(), slope.data_ptr(), inv_std.data_ptr(), u.data_ptr(), _is_bf16(dtype),
        )
        return q_hat, slope, inv_std, u

    # -- backward ---------------------------------------------------------------------
    def dense_backward(
        self, grad: Tensor, out: Tensor | None, activation: str | None, p: Tensor | None, scale: Tensor,
        dtype: torch.dtype,
    ) -> tuple[Tensor, Tensor | None, Tensor | None]:
        grad, scale = grad.contiguous(), _float32(scale)
        out = None if activation is None else _float32(out)
        rows, units = grad.shape
        dp = torch.empty(rows, units, dtype=dtype)
        grad_bias = grad_scale = None
        if p is not None:
            p = p.contiguous()
            grad_bias, grad_scale = torch.empty(units), torch.empty(units)
        self.kernels.igan_dense_backward(
            grad.data_ptr(), _is_bf16(grad.dtype), pointer(out), _ACTIVATION_CODES[activation],
            pointer(p), _is_bf16(None if p is None else p.dtype), scale.data_ptr(), rows, units,
            dp.data_ptr(), _is_bf16(dtype), pointer(grad_bias), pointer(grad_scale),
        )
        return dp, grad_bias, grad_scale

    def batch_norm_softplus_backward(
        self, grad_u: Tensor, slope: Tensor, q_hat: Tensor, inv_std: Tensor, dtype: torch.dtype
    ) -> tuple[Tensor, Tensor]:
        grad_u, slope, q_hat, inv_std = grad_u.contiguous(), _float32(slope), _float32(q_hat), _float32(inv_std)
        rows, units = grad_u.shape
        grad_q, grad_bias = torch.empty(rows, units, dtype=dtype), torch.empty(units)
        self.kernels.igan_batch_norm_softplus_backward(
            grad_u.data_ptr(), _is_bf16(grad_u.dtype), slope.data_ptr(), q_hat.data_ptr(), inv_std.data_ptr(),
            rows, units, grad_q.data_ptr(), _is_bf16(dtype), grad_bias.data_ptr(),
        )
        return grad_q, grad_bias


def _float32(t: Tensor) -> Tensor:
    if t.dtype != torch.float32 or t.device.type != "cpu":
        raise ValueError(f"expected a float32 CPU tensor (got {t.dtype} on {t.device})")
    return t.contiguous()


def _is_bf16(dtype: torch.dtype | None) -> int:
    if dtype not in (None, torch.float32, torch.bfloat16):
        raise ValueError(f"the native kernels compute in float32 or bfloat16 (got {dtype})")
    return int(dtype == torch.bfloat16)


Ops = TorchOps | NativeOps
