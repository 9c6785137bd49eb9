r"""One-sided label smoothing (Section 3.4): real targets alpha, generated targets 0.

With positive targets :math:`\alpha` and negative targets :math:`\beta` the
optimal discriminator is

.. math::

    D^*(x) = \frac{\alpha\, p_\text{data}(x) + \beta\, p_\text{model}(x)}
                  {p_\text{data}(x) + p_\text{model}(x)} .

Any :math:`\beta > 0` leaves :math:`p_\text{model}` in the numerator: where the
data has no mass but the model has, :math:`D^* = \beta`, a constant, so
misplaced samples get no gradient towards the data. Smoothing only the positive
side (:math:`\beta = 0`) keeps :math:`D^* = \alpha\, p_\text{data} /
(p_\text{data} + p_\text{model})`, which is 0 wherever the data is absent.

The paper's example value is :math:`\alpha = 0.9` (the default); the authors'
ImageNet code uses 0.75.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from improved_gan.errors import ConfigError
from improved_gan.techniques._checks import check_choice, check_dim, check_nonempty_batch

REDUCTIONS = ("mean", "none")


def _check_alpha(alpha: float) -> None:
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0.0 < alpha <= 1.0:
        raise ConfigError(f"alpha (the smoothed real target) must be in (0, 1] (got {alpha!r}); 1 means no smoothing")


def _as_logit_vector(name: str, logits: Tensor) -> Tensor:
    """``[N]`` or ``[N, 1]`` -> ``[N]``."""
    if logits.dim() == 2 and logits.size(1) == 1:
        logits = logits.squeeze(1)
    if logits.dim() != 1:
        raise ValueError(f"expected {name} of shape [N] or [N, 1] (got {tuple(logits.shape)})")
    check_nonempty_batch(name, logits)
    return logits


def one_sided_smoothed_targets(
    n_real: int,
    n_fake: int,
    *,
    alpha: float = 0.9,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> Tensor:
    r"""Targets for ``torch.cat([real_logits, fake_logits])``: ``n_real`` times alpha, then ``n_fake`` zeros.

    Paper: Section 3.4 (positive targets :math:`\alpha`, negative targets 0).

    Args:
        n_real: number of real examples (first).
        n_fake: number of generated examples (after them).
        alpha: the real target, in (0, 1]. Default 0.9.

    Shape:
        - Output: ``[n_real + n_fake]``.

    Example::

        >>> one_sided_smoothed_targets(2, 3)
        tensor([0.9000, 0.9000, 0.0000, 0.0000, 0.0000])
    """
    _check_alpha(alpha)
    if n_real < 0 or n_fake < 0:
        raise ValueError(f"expected non-negative batch sizes (got n_real={n_real}, n_fake={n_fake})")
    targets = torch.zeros(n_real + n_fake, device=device, dtype=dtype)
    targets[:n_real] = alpha
    return targets


def smoothed_discriminator_loss(
    real_logits: Tensor,
    fake_logits: Tensor,
    *,
    alpha: float = 0.9,
    reduction: str = "mean",
) -> Tensor:
    r"""Binary cross-entropy of a sigmoid discriminator against targets (alpha, 0) (Section 3.4).

    With :math:`D = \sigma(s)` for a logit :math:`s`:

    .. math::

        L = \mathbb{E}_\text{real}\big[-\alpha \log D(x) - (1-\alpha)\log(1 - D(x))\big]
          + \mathbb{E}_\text{fake}\big[-\log(1 - D(G(z)))\big] ,

    computed from the logits with
    :func:`~torch.nn.functional.binary_cross_entropy_with_logits`
    (:math:`-\log\sigma(s) = \operatorname{softplus}(-s)`), so it stays finite at
    any logit; never pass probabilities through ``log`` yourself. Its pointwise
    minimiser is :math:`D^* = \alpha p_\text{data} / (p_\text{data} + p_\text{model})`.
    At :math:`\alpha < 1` the real term is not zero at its optimum (it is the
    entropy of the target); only the gradients matter.

    Args:
        real_logits: D's logits on real data, ``[N]`` or ``[N, 1]``.
        fake_logits: D's logits on generated data, ``[M]`` or ``[M, 1]``.
        alpha: the real target, in (0, 1]; 1 is the unsmoothed GAN loss. Default 0.9.
        reduction: ``"mean"`` (default): the mean over the real batch plus the mean
            over the generated batch. ``"none"``: the per-example losses, real
            then generated.

    Shape:
        - Output: scalar, or ``[N + M]`` with ``reduction="none"``.

    Example::

        >>> loss = smoothed_discriminator_loss(torch.randn(64), torch.randn(64), alpha=0.9)
    """
    _check_alpha(alpha)
    check_choice("reduction", reduction, REDUCTIONS)
    real_logits = _as_logit_vector("real_logits", real_logits)
    fake_logits = _as_logit_vector("fake_logits", fake_logits)
    real_loss = F.binary_cross_entropy_with_logits(
        real_logits, torch.full_like(real_logits, alpha), reduction="none"
    )  # [N]
    fake_loss = F.binary_cross_entropy_with_logits(
        fake_logits, torch.zeros_like(fake_logits), reduction="none"
    )  # [M]
    if reduction == "none":
        return torch.cat([real_loss, fake_loss])
    return real_loss.mean() + fake_loss.mean()


class SmoothedDiscriminatorLoss(nn.Module):
    r"""Module form of :func:`smoothed_discriminator_loss` (Section 3.4).

    .. math::

        L = \mathbb{E}_\text{real}\,\mathrm{BCE}(\sigma(s), \alpha) + \mathbb{E}_\text{fake}\,\mathrm{BCE}(\sigma(s), 0)

    Args:
        alpha: the real target, in (0, 1]. Default 0.9.
        reduction: ``"mean"`` (default) or ``"none"``.

    Shape:
        - Input: ``real_logits [N]`` or ``[N, 1]``; ``fake_logits [M]`` or ``[M, 1]``.
        - Output: scalar, or ``[N + M]`` with ``reduction="none"``.

    Example::

        >>> criterion = SmoothedDiscriminatorLoss(alpha=0.9)
        >>> loss = criterion(torch.randn(16, 1), torch.randn(16, 1))
    """

    def __init__(self, *, alpha: float = 0.9, reduction: str = "mean") -> None:
        super().__init__()
        _check_alpha(alpha)
        check_choice("reduction", reduction, REDUCTIONS)
        self.alpha = alpha
        self.reduction = reduction

    def forward(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        return smoothed_discriminator_loss(real_logits, fake_logits, alpha=self.alpha, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, reduction={self.reduction!r}"
