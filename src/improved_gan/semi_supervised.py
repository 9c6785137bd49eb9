r"""Section 5: the semi-supervised K+1 classifier GAN, as losses on logits.

The discriminator is a K-class classifier whose logits :math:`l_1..l_K` are
extended by a "generated" class with the logit fixed at :math:`l_{K+1} = 0`
(Section 5: subtracting a function of x from every logit leaves the softmax
unchanged, so the (K+1)-th logit can be pinned without loss of generality).
With :math:`Z(x) = \sum_{k=1}^{K} \exp l_k(x)` the probability that x is real is

.. math::

    D(x) = 1 - p_{\text{model}}(y = K+1 \mid x) = \frac{Z(x)}{Z(x) + 1}
         = \sigma\big(\operatorname{LSE}(l(x))\big),

so every quantity is a function of :math:`\operatorname{LSE} = \log Z`, which is
computed stably by :func:`torch.logsumexp`; ``-log D = softplus(-LSE)`` and
``-log(1 - D) = softplus(LSE)`` never form ``Z`` itself and stay finite and
exact at logits of +-1000.

The losses follow the authors' code (docs/reference.md):

* supervised: cross-entropy of the K logits on labeled data (Eq. 5's
  :math:`L_{\text{supervised}}`, the K+1-th class never being a label);
* unsupervised: :math:`\tfrac12\,\mathbb{E}_{x}[-\log D(x)] +
  \tfrac12\,\mathbb{E}_{z}[-\log(1 - D(G(z)))]` — the standard GAN
  discriminator loss, halved as in the authors' code (the half makes it the
  mean over the real-and-generated minibatch);
* total: supervised + weight * unsupervised, weight 1 in the paper.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor


class DiscriminatorLosses(NamedTuple):
    """The discriminator's loss and its parts (scalars; ``supervised`` is None without a labeled part)."""

    total: Tensor
    supervised: Tensor | None
    unsupervised: Tensor


def _check_logits(name: str, logits: Tensor) -> None:
    if logits.dim() != 2:
        raise ValueError(f"expected {name} of shape [N, K] (got {tuple(logits.shape)})")


def log_partition(logits: Tensor, *, name: str = "logits") -> Tensor:
    r""":math:`\operatorname{LSE}(l) = \log \sum_k \exp l_k`, i.e. the real-vs-generated logit.

    Shape: ``[N, K] -> [N]``.
    """
    _check_logits(name, logits)
    return torch.logsumexp(logits, dim=1)


def probability_real(logits: Tensor) -> Tensor:
    r""":math:`D(x) = Z/(Z+1) = \sigma(\operatorname{LSE})`. Shape: ``[N, K] -> [N]``."""
    return torch.sigmoid(log_partition(logits))


def supervised_loss(logits_lab: Tensor, labels: Tensor) -> Tensor:
    r"""Cross-entropy on labeled data: ``mean(-l_y + LSE(l))``.

    Args:
        logits_lab: ``[N, K]`` class logits of labeled examples.
        labels: ``[N]`` integer labels in ``[0, K)``.
    """
    _check_logits("logits_lab", logits_lab)
    if labels.shape != logits_lab.shape[:1]:
        raise ValueError(
            f"expected labels of shape [{logits_lab.shape[0]}] (got {tuple(labels.shape)})"
        )
    return F.cross_entropy(logits_lab, labels)


def unsupervised_loss(logits_unl: Tensor, logits_gen: Tensor, *, real_target: float = 1.0) -> Tensor:
    r"""The discriminator's GAN loss with :math:`l_{K+1} = 0`.

    .. math::

        L = \tfrac12\,\mathrm{mean}_x\,\mathrm{softplus}(-\mathrm{LSE}(l(x)))
          + \tfrac12\,\mathrm{mean}_z\,\mathrm{softplus}(\mathrm{LSE}(l(G(z))))

    which equals the authors' ``-1/2 mean(LSE_unl) + 1/2 mean(softplus(LSE_unl))
    + 1/2 mean(softplus(LSE_gen))``, since ``softplus(-a) = softplus(a) - a``.

    One-sided label smoothing (Section 3.4) for the K+1 classifier replaces the
    real examples' target 1 by ``real_target`` = :math:`\alpha`: their term becomes
    :math:`-\alpha \log D(x) - (1-\alpha)\log(1 - D(x))`, i.e. binary
    cross-entropy of :math:`\sigma(\mathrm{LSE})` against :math:`\alpha`; the
    generated side keeps target 0.

    Args:
        logits_unl: ``[N, K]`` logits of unlabeled real data.
        logits_gen: ``[M, K]`` logits of generated data.
        real_target: :math:`\alpha` in (0, 1]; 1 is the unsmoothed loss.
    """
    if not 0.0 < real_target <= 1.0:
        raise ValueError(f"expected real_target in (0, 1] (got {real_target})")
    lse_unl = log_partition(logits_unl, name="logits_unl")
    lse_gen = log_partition(logits_gen, name="logits_gen")
    if logits_unl.size(1) != logits_gen.size(1):
        raise ValueError(
            f"expected logits_unl and logits_gen with the same K (got {logits_unl.size(1)} and {logits_gen.size(1)})"
        )
    real = F.softplus(-lse_unl)
    if real_target != 1.0:
        real = real_target * real + (1.0 - real_target) * F.softplus(lse_unl)
    return 0.5 * real.mean() + 0.5 * F.softplus(lse_gen).mean()


def least_unsupervised_loss(real_target: float = 1.0) -> float:
    r"""The smallest value :func:`unsupervised_loss` can take: :math:`\tfrac12 H(\alpha)`.

    The generated term is at least 0 (reached as :math:`D(G(z)) \to 0`). The real
    term :math:`-\alpha \log D - (1-\alpha)\log(1-D)` is least at :math:`D = \alpha`,
    where it is the binary entropy :math:`H(\alpha) = -\alpha\log\alpha - (1-\alpha)\log(1-\alpha)`
    (nats); with weight 1/2, the least loss is :math:`H(\alpha)/2`: 0 without label
    smoothing (:math:`\alpha = 1`), 0.1625 at :math:`\alpha = 0.9`. A discriminator
    that separates real from generated data perfectly brings the loss to this value.
    """
    if not 0.0 < real_target <= 1.0:
        raise ValueError(f"expected real_target in (0, 1] (got {real_target})")
    if real_target == 1.0:
        return 0.0
    a = real_target
    return 0.5 * -(a * math.log(a) + (1.0 - a) * math.log1p(-a))


def discriminator_loss(
    logits_unl: Tensor,
    logits_gen: Tensor,
    *,
    logits_lab: Tensor | None = None,
    labels: Tensor | None = None,
    real_target: float = 1.0,
    unsupervised_weight: float = 1.0,
) -> DiscriminatorLosses:
    """Section 5's total loss: supervised + ``unsupervised_weight`` * unsupervised.

    The one definition of the K+1 discriminator loss: the reference step calls
    it, the fast step's closed-form gradient is its derivative, and one-sided
    label smoothing (Section 3.4) is its ``real_target``.

    Args:
        logits_unl: ``[M, K]`` logits of unlabeled real data.
        logits_gen: ``[P, K]`` logits of generated data.
        logits_lab, labels: ``[N, K]`` logits of labeled data and their ``[N]``
            classes, or both None (a purely unsupervised step; ``supervised`` is None).
        real_target: :math:`\alpha` of one-sided label smoothing; 1: none.
        unsupervised_weight: the GAN part's weight; 1 in the paper.

    Every output is a scalar.
    """
    if (logits_lab is None) != (labels is None):
        raise ValueError("expected logits_lab and labels together, or neither")
    unsup = unsupervised_loss(logits_unl, logits_gen, real_target=real_target)
    total = unsupervised_weight * unsup
    sup = None
    if logits_lab is not None:
        sup = supervised_loss(logits_lab, labels)
        total = total + sup
    return DiscriminatorLosses(total, sup, unsup)


def generator_saturating_loss(logits_gen: Tensor) -> Tensor:
    r"""``mean log(1 - D(G(z))) = -mean softplus(LSE(l(G(z))))``, minimised by G.

    The minimax ("saturating") generator loss that the authors' minibatch-
    discrimination models use (docs/reference.md). Shape: ``[N, K] -> []``.
    """
    return -F.softplus(log_partition(logits_gen)).mean()


def generator_non_saturating_loss(logits_gen: Tensor) -> Tensor:
    r"""``-mean log D(G(z)) = mean softplus(-LSE(l(G(z))))``, the usual non-saturating form."""
    return F.softplus(-log_partition(logits_gen)).mean()


def classification_errors(logits: Tensor, labels: Tensor) -> Tensor:
    """The number of examples whose arg-max class differs from the label, as a 0-d long tensor
    (on the logits' device: reading it is the caller's choice of when to synchronise).

    Shapes: ``logits [N, K]``, ``labels [N]`` -> ``[]``.
    """
    _check_logits("logits", logits)
    return (logits.argmax(dim=1) != labels).sum()
