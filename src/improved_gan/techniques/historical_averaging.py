r"""Historical averaging (Section 3.3): pull each player towards its own past mean.

Each player's cost gets the term

.. math::

    \Big\lVert \theta - \frac1t \sum_{i=1}^{t} \theta[i] \Big\rVert^2 ,

where :math:`\theta[i]` is the value of the parameters at past time i. The
average is kept online, :math:`\bar\theta_t = \bar\theta_{t-1} +
(\theta[t] - \bar\theta_{t-1}) / t`, so memory is one copy of the parameters
whatever the length of training. The paper reports that this finds equilibria of
low-dimensional games where gradient descent orbits (``games/`` reproduces them).
The authors' released code does not use it; this follows the paper's formula.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import torch
from torch import Tensor, nn

from improved_gan.techniques._checks import check_nonnegative_float


def historical_averaging_penalty(params: Iterable[Tensor], averages: Iterable[Tensor]) -> Tensor:
    r""":math:`\sum_k \lVert \theta_k - \bar\theta_k \rVert^2` over matching tensors (Section 3.3).

    The averages are constants: they are detached and cast to each parameter's
    dtype, so the gradient with respect to :math:`\theta_k` is exactly
    :math:`2(\theta_k - \bar\theta_k)`.

    Args:
        params: the current parameters :math:`\theta_k`.
        averages: their historical means :math:`\bar\theta_k`, same shapes, same order.

    Shape:
        - each ``params[k]`` and ``averages[k]``: any shape, equal to each other.
        - Output: scalar (in the parameters' dtype).

    Example::

        >>> theta = torch.tensor([1.0, 2.0], requires_grad=True)
        >>> historical_averaging_penalty([theta], [torch.tensor([0.0, 0.0])]).item()
        5.0
    """
    params, averages = list(params), list(averages)
    if len(params) != len(averages):
        raise ValueError(f"expected one average per parameter (got {len(params)} parameters, {len(averages)} averages)")
    if not params:
        raise ValueError("expected at least one parameter (got none)")
    penalty = None
    for index, (theta, average) in enumerate(zip(params, averages)):
        if theta.shape != average.shape:
            raise ValueError(
                f"expected average {index} of shape {tuple(theta.shape)} like its parameter "
                f"(got {tuple(average.shape)})"
            )
        term = (theta - average.detach().to(theta.dtype)).square().sum()
        penalty = term if penalty is None else penalty + term
    return penalty


class HistoricalAverage:
    r"""The online mean of one player's parameters and its penalty (Section 3.3).

    .. math::

        \text{penalty} = w\,\Big\lVert \theta - \frac1t \sum_{i=1}^{t} \theta[i] \Big\rVert^2

    **Which snapshots enter the mean.** :math:`\theta[1]` is the value at
    construction; call :meth:`update` right after every optimizer step, which
    folds in the value that step produced. So whenever the penalty is evaluated,
    the mean is over every value the parameters have had, *including the current
    one* (:math:`t` = :attr:`count` snapshots, :math:`\theta = \theta[t]`). This
    is the paper's sum, which runs up to the present time t; it makes the penalty
    zero (not a pull towards an arbitrary start) when training begins, and
    defined at every step. The mean is a constant in the gradient:
    :math:`\partial/\partial\theta = 2w(\theta - \bar\theta)`.

    **Precision.** The mean is kept in ``float64`` by default. In ``float32`` an
    increment :math:`(\theta[t] - \bar\theta)/t` smaller than half a unit in
    the last place of :math:`\bar\theta` (about :math:`6\cdot10^{-8}\lvert\bar\theta\rvert`)
    is rounded away: a parameter 1% away from its mean stops moving the mean after
    about :math:`1.7\cdot10^5` steps.

    The state (mean and count) belongs in checkpoints: :meth:`state_dict` and
    :meth:`load_state_dict` as for an optimizer. One instance per player (G and D).

    Args:
        params: the parameters to average (e.g. ``discriminator.parameters()``);
            their current values are the first snapshot.
        weight: w, the factor :meth:`penalty` applies. Default 1.
        dtype: dtype of the stored mean. Default ``torch.float64``; ``None``
            keeps each parameter's own dtype (e.g. where float64 is unsupported).

    Example::

        >>> model = torch.nn.Linear(3, 1)
        >>> history = HistoricalAverage(model.parameters(), weight=0.1)
        >>> opt = torch.optim.SGD(model.parameters(), lr=0.1)
        >>> loss = model(torch.randn(8, 3)).square().mean() + history.penalty()
        >>> loss.backward(); opt.step(); history.update()
        >>> history.count
        2
    """

    _version = 1

    def __init__(
        self,
        params: Iterable[nn.Parameter],
        *,
        weight: float = 1.0,
        dtype: torch.dtype | None = torch.float64,
    ) -> None:
        self.params: list[Tensor] = list(params)
        if not self.params:
            raise ValueError("expected at least one parameter to average (got none)")
        check_nonnegative_float("weight", weight)
        self.weight = float(weight)
        self.dtype = dtype
        self.averages: list[Tensor] = []
        self.count = 0
        self.reset()

    @torch.no_grad()
    def reset(self) -> None:
        """Restart the history from the current values: ``count = 1``, mean = current."""
        self.averages = [theta.detach().to(self.dtype or theta.dtype, copy=True) for theta in self.params]
        self.count = 1

    @torch.no_grad()
    def update(self) -> None:
        r"""Fold the current values in: :math:`\bar\theta \mathrel{+}= (\theta - \bar\theta)/t`."""
        self.count += 1
        for theta, average in zip(self.params, self.averages):
            average.add_(theta.to(average.dtype) - average, alpha=1.0 / self.count)

    def penalty(self) -> Tensor:
        r""":math:`w \sum_k \lVert \theta_k - \bar\theta_k \rVert^2`, a scalar with gradients to the parameters."""
        return self.weight * historical_averaging_penalty(self.params, self.averages)

    def state_dict(self) -> dict[str, Any]:
        """The mean, the count and a format version (tensors are the stored ones, not copies)."""
        return {"version": self._version, "count": self.count, "averages": list(self.averages)}

    @torch.no_grad()
    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`'s output; shapes must match the tracked parameters."""
        missing = {"count", "averages"} - set(state_dict)
        if missing:
            raise ValueError(
                f"expected a HistoricalAverage state with keys 'count' and 'averages' (missing {sorted(missing)})"
            )
        averages: Sequence[Tensor] = state_dict["averages"]
        if len(averages) != len(self.params):
            raise ValueError(
                f"expected {len(self.params)} averages, one per tracked parameter (got {len(averages)})"
            )
        for index, (theta, average) in enumerate(zip(self.params, averages)):
            if average.shape != theta.shape:
                raise ValueError(
                    f"expected average {index} of shape {tuple(theta.shape)} (got {tuple(average.shape)})"
                )
        count = int(state_dict["count"])
        if count < 1:
            raise ValueError(f"expected count >= 1 (got {count})")
        self.averages = [
            average.to(device=theta.device, dtype=self.dtype or theta.dtype, copy=True)
            for theta, average in zip(self.params, averages)
        ]
        self.count = count

    def __repr__(self) -> str:
        sizes = sum(theta.numel() for theta in self.params)
        return (
            f"{type(self).__name__}(tensors={len(self.params)}, numel={sizes}, "
            f"count={self.count}, weight={self.weight}, dtype={self.dtype})"
        )
