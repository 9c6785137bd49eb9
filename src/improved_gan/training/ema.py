r"""Exponential moving average of a module's parameters, bias-corrected.

The authors evaluate the test error with an average of D's parameters updated
as :math:`a \leftarrow a + \lambda (\theta - a)`, :math:`\lambda = 10^{-4}`,
starting from the initial weights, so for the first ~10,000 steps the average
is dominated by the untrained network. We start the shadow at zero and divide
by :math:`1 - (1-\lambda)^t` (as Adam corrects its moments), which makes the
average at step t the normalised weighted mean
:math:`\sum_{i \le t} \lambda (1-\lambda)^{t-i} \theta_i / (1 - (1-\lambda)^t)`:
the same weights on recent parameters, and meaningful from the first epoch.
"""

from __future__ import annotations

import torch
from torch import nn


class ExponentialMovingAverage(nn.Module):
    """Bias-corrected EMA of ``module``'s floating-point parameters.

    Args:
        module: the module whose parameters are averaged (not copied; read at
            each :meth:`update`).
        rate: :math:`\\lambda` in ``a += rate * (p - a)``.

    Buffers of ``module`` (e.g. batch-norm statistics) are not averaged:
    :meth:`copy_to` copies them as they are.
    """

    def __init__(self, module: nn.Module, *, rate: float = 1e-4) -> None:
        super().__init__()
        if not 0.0 < rate <= 1.0:
            raise ValueError(f"expected rate in (0, 1] (got {rate})")
        self.rate = rate
        self._names = [name for name, p in module.named_parameters()]
        self.shadow = nn.ParameterList(
            [nn.Parameter(torch.zeros_like(p), requires_grad=False) for p in module.parameters()]
        )
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))

    def extra_repr(self) -> str:
        return f"rate={self.rate}, tensors={len(self._names)}"

    @torch.no_grad()
    def update(self, module: nn.Module) -> None:
        """Fold ``module``'s current parameters into the average."""
        params = list(module.parameters())
        if len(params) != len(self.shadow):
            raise ValueError(f"expected {len(self.shadow)} parameters (got {len(params)})")
        torch._foreach_lerp_(list(self.shadow), [p.detach() for p in params], self.rate)
        self.steps += 1

    @torch.no_grad()
    def averaged(self) -> list[torch.Tensor]:
        """The bias-corrected averages, in parameter order (a copy)."""
        t = int(self.steps)
        if t == 0:
            raise RuntimeError("the average is empty: call update() first")
        correction = 1.0 - (1.0 - self.rate) ** t
        return [s / correction for s in self.shadow]

    @torch.no_grad()
    def copy_to(self, target: nn.Module, source: nn.Module | None = None) -> nn.Module:
        """Write the averages into ``target``'s parameters (and ``source``'s buffers, if given)."""
        for p, a in zip(target.parameters(), self.averaged()):
            p.copy_(a)
        if source is not None:
            for b_target, b_source in zip(target.buffers(), source.buffers()):
                b_target.copy_(b_source)
        return target
