r"""Adam as the authors wrote it: the epsilon inside the square root.

The authors' Theano code (``nn.adam_updates``) updates

.. math::

    m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t, \qquad
    v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2, \\
    \theta_t = \theta_{t-1} - \eta\,\frac{m_t / (1-\beta_1^t)}{\sqrt{v_t / (1-\beta_2^t) + \epsilon}},
    \qquad \epsilon = 10^{-8}.

:class:`torch.optim.Adam` divides by :math:`\sqrt{\hat v_t} + \epsilon` instead.
The two agree while gradients are large, but not when they are small: with
the epsilon inside, a parameter whose gradient RMS is below
:math:`\sqrt{\epsilon} = 10^{-4}` moves by less than :math:`\eta` (its step
shrinks with its gradient), whereas torch's Adam still takes steps of size
:math:`\eta` in the sign of a vanishing gradient. In the MNIST GAN this is not
a detail: once the discriminator wins, its gradients become tiny, torch's Adam
keeps sharpening it at full speed and the game diverges (the feature-matching
loss explodes at epoch 13 of mnist-fm with torch's Adam and not with this
one, docs/results.md), while the authors' update damps it.
"""

from __future__ import annotations

from typing import Iterable

import torch
from torch import Tensor


class AuthorsAdam(torch.optim.Optimizer):
    """Adam with :math:`\\epsilon` inside the square root (see the module docstring).

    Args:
        params: parameters or parameter groups.
        lr: :math:`\\eta`. Default: 1e-3.
        betas: :math:`(\\beta_1, \\beta_2)`. Default: (0.9, 0.999).
        eps: :math:`\\epsilon`, added to :math:`\\hat v_t` under the root. Default: 1e-8.

    State per parameter: ``step`` (a float tensor), ``exp_avg``, ``exp_avg_sq``
    (the names torch's Adam uses, so tools that inspect optimiser state work).
    Updates are applied with ``torch._foreach_*`` kernels, one per operation
    for all parameters of a group.
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        if lr <= 0.0:
            raise ValueError(f"expected lr > 0 (got {lr})")
        if not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"expected betas in [0, 1) (got {betas})")
        if eps < 0.0:
            raise ValueError(f"expected eps >= 0 (got {eps})")
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            grads = [p.grad for p in params]
            for p in params:
                state = self.state[p]
                if not state:
                    state["step"] = torch.zeros((), dtype=torch.float32)
                    state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["step"] += 1
            beta1, beta2 = group["betas"]
            step = float(self.state[params[0]]["step"])  # equal for all parameters of the group
            exp_avg = [self.state[p]["exp_avg"] for p in params]
            exp_avg_sq = [self.state[p]["exp_avg_sq"] for p in params]
            torch._foreach_lerp_(exp_avg, grads, 1.0 - beta1)
            torch._foreach_mul_(exp_avg_sq, beta2)
            torch._foreach_addcmul_(exp_avg_sq, grads, grads, value=1.0 - beta2)
            # denominator = sqrt(v / (1 - beta2^t) + eps)
            denom = torch._foreach_div(exp_avg_sq, 1.0 - beta2**step)
            torch._foreach_add_(denom, group["eps"])
            torch._foreach_sqrt_(denom)
            torch._foreach_addcdiv_(params, exp_avg, denom, value=-group["lr"] / (1.0 - beta1**step))
        return loss
