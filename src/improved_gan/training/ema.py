r"""Exponential moving average of a module's parameters, with a warm start.

The authors evaluate the test error with an average of D's parameters updated
as :math:`a \leftarrow a + \lambda (\theta - a)`, :math:`\lambda = 10^{-4}`,
starting from the initial weights: for the first ~10,000 steps (17 MNIST
epochs) the average is dominated by the untrained network, so early test
errors describe nothing. A bias-corrected average (Adam-style) does not help
here: early on it is a near-uniform mean over the whole trajectory, which for a
network that has moved far from its initial weights is again a poor network.

We start the average at the first parameters it sees and use the rate

.. math::

    \lambda_t = \max\!\Big(\lambda, \frac{9}{8 + t}\Big), \qquad
    a_t = a_{t-1} + \lambda_t (\theta_t - a_{t-1}),

(TensorFlow's ``num_updates`` warm-up, shifted so that the first update
copies): the window of the average grows like
``t / 9`` steps until it reaches the authors' :math:`1/\lambda` = 10,000 steps
(at t = 90,000, epoch 150 of MNIST's 300), and from there on it is exactly their
average. Early evaluations therefore describe the recent network, and the end
of a full-length run evaluates the same average as the authors'.
"""

from __future__ import annotations

import torch
from torch import nn


class ExponentialMovingAverage(nn.Module):
    """Warm-started EMA of ``module``'s parameters (see the module docstring).

    Args:
        module: the module whose parameters are averaged (read at each :meth:`update`).
        rate: the final :math:`\\lambda` in ``a += rate_t * (p - a)``.
        warmup: :math:`w` in :math:`\\lambda_t = \\max(\\lambda, (w - 1)/(w - 2 + t))` for the
            t-th update (10, as TensorFlow; :math:`\\lambda_1 = 1` copies); ``0``: plain EMA.

    Buffers of ``module`` (e.g. batch-norm statistics) are not averaged:
    :meth:`copy_to` copies them as they are.
    """

    def __init__(self, module: nn.Module, *, rate: float = 1e-4, warmup: int = 10) -> None:
        super().__init__()
        if not 0.0 < rate <= 1.0:
            raise ValueError(f"expected rate in (0, 1] (got {rate})")
        if warmup < 0:
            raise ValueError(f"expected warmup >= 0 (got {warmup})")
        self.rate = rate
        self.warmup = warmup
        self.shadow = nn.ParameterList(
            [nn.Parameter(p.detach().clone(), requires_grad=False) for p in module.parameters()]
        )
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))

    def extra_repr(self) -> str:
        return f"rate={self.rate}, warmup={self.warmup}, tensors={len(self.shadow)}"

    def current_rate(self, step: int) -> float:
        """:math:`\\lambda_t` for the ``step``-th update (1-based); the first update copies."""
        if self.warmup == 0:
            return 1.0 if step == 1 else self.rate
        return max(self.rate, min(1.0, (self.warmup - 1) / (self.warmup - 2 + step)))

    def next_rate(self) -> float:
        """Count one more update and return its rate :math:`\\lambda_t`, for a caller that folds
        the parameters in itself (``a.lerp_(p, rate)`` for each average ``a``, as :meth:`update` does)."""
        self.steps += 1
        return self.current_rate(int(self.steps))

    def _parameters_of(self, module: nn.Module) -> list[nn.Parameter]:
        """``module``'s parameters, one per average (else a ValueError)."""
        params = list(module.parameters())
        if len(params) != len(self.shadow):
            raise ValueError(f"expected {len(self.shadow)} parameters (got {len(params)})")
        return params

    def averages_of(self, module: nn.Module) -> dict[int, torch.Tensor]:
        """``id(parameter) -> its average`` for ``module``'s parameters (those :meth:`update` reads)."""
        return {id(p): a for p, a in zip(self._parameters_of(module), self.shadow)}

    @torch.no_grad()
    def update(self, module: nn.Module) -> None:
        """Fold ``module``'s current parameters into the average."""
        params = [p.detach() for p in self._parameters_of(module)]
        torch._foreach_lerp_(list(self.shadow), params, self.next_rate())

    @torch.no_grad()
    def averaged(self) -> list[torch.Tensor]:
        """The averages, in parameter order (a copy)."""
        return [s.clone() for s in self.shadow]

    @torch.no_grad()
    def copy_to(self, target: nn.Module, source: nn.Module | None = None) -> nn.Module:
        """Write the averages into ``target``'s parameters (and ``source``'s buffers, if given)."""
        for p, a in zip(target.parameters(), self.shadow):
            p.copy_(a)
        if source is not None:
            for b_target, b_source in zip(target.buffers(), source.buffers()):
                b_target.copy_(b_source)
        return target
