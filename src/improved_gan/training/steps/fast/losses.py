r"""The gradients of the step's losses in closed form (no autograd graph).

The losses themselves have one home each, :func:`improved_gan.semi_supervised.discriminator_loss`
and :func:`improved_gan.techniques.feature_matching_loss`; this module adds their
derivatives with respect to the logits and the generated features (the tests compare
them with autograd through those functions). Written out, they cost a dozen small
operations instead of an autograd pass.

Discriminator (Section 5), with :math:`\mathrm{LSE}_n = \log \sum_k e^{l_{nk}}`,
softmax :math:`p_{nk}` and :math:`\sigma` the logistic function:

.. math::
    L = \underbrace{\tfrac{1}{N_l}\sum_{lab} (\mathrm{LSE} - l_{y})}_{\text{supervised}}
      + w\Big[\tfrac{1}{2N_u}\sum_{unl} \big(\alpha\,\mathrm{sp}(-\mathrm{LSE})
            + (1-\alpha)\,\mathrm{sp}(\mathrm{LSE})\big)
      + \tfrac{1}{2N_g}\sum_{gen} \mathrm{sp}(\mathrm{LSE})\Big]

(sp = softplus, :math:`\alpha` the real target of one-sided label smoothing),
and since :math:`\partial\,\mathrm{LSE}/\partial l = p`:

.. math::
    \frac{\partial L}{\partial l_{lab}} = \frac{p - \mathrm{onehot}(y)}{N_l}, \quad
    \frac{\partial L}{\partial l_{unl}} = \frac{w}{2N_u}\big((1-\alpha)\sigma(\mathrm{LSE})
        - \alpha\sigma(-\mathrm{LSE})\big) p, \quad
    \frac{\partial L}{\partial l_{gen}} = \frac{w}{2N_g}\sigma(\mathrm{LSE})\, p.

Feature matching (Section 3.1), means over the batch and then over the F units:
``l2``: :math:`\frac1F\lVert\mu_r - \mu_g\rVert^2`, gradient
:math:`-\frac{2}{F N_g}(\mu_r - \mu_g)` for every generated row; ``l1``:
:math:`\frac1F\lVert\mu_r - \mu_g\rVert_1`, gradient :math:`-\frac{1}{F N_g}\,\mathrm{sign}(\mu_r - \mu_g)`.
"""

from __future__ import annotations

import torch
from torch import Tensor

from improved_gan import semi_supervised as ss


def discriminator_loss_and_gradient(
    logits: Tensor,
    sizes: list[int],
    labels: Tensor | None,
    *,
    real_target: float = 1.0,
    unsupervised_weight: float = 1.0,
) -> tuple[dict[str, Tensor], Tensor]:
    """Section 5's loss (:func:`~improved_gan.semi_supervised.discriminator_loss`) on a
    concatenated batch, and its gradient with respect to the logits.

    Args:
        logits: ``[N, K]`` float32, the rows of ``[labeled;] unlabeled; generated``.
        sizes: the number of rows of each part (two parts when ``labels`` is None).
        labels: ``[N_l]`` class indices of the labeled part, or None.
        real_target: :math:`\\alpha` (1: no label smoothing).
        unsupervised_weight: :math:`w`.

    Returns:
        The statistics the reference step reports (``loss_unsup``, ``loss_sup``,
        ``train_errors``, ``loss_d``; detached) and ``d loss / d logits [N, K]``.
    """
    parts = logits.split(sizes)
    logits_lab = parts[0] if labels is not None else None
    losses = ss.discriminator_loss(
        parts[-2], parts[-1], logits_lab=logits_lab, labels=labels,
        real_target=real_target, unsupervised_weight=unsupervised_weight,
    )  # fmt: skip
    stats = {"loss_unsup": losses.unsupervised, "loss_d": losses.total}
    if labels is not None:
        stats["loss_sup"] = losses.supervised
        stats["train_errors"] = ss.classification_errors(logits_lab, labels)
    # d loss / d l_n = c_n p_n (p the softmax, since d LSE / d l = p), minus onehot(y) / N_l on labeled rows
    lse = torch.logsumexp(logits, dim=1)  # [N]
    probabilities = torch.exp(logits - lse.unsqueeze(1))  # [N, K]
    lse_unl, lse_gen = lse.split(sizes)[-2:]
    factor_unl = (1.0 - real_target) * torch.sigmoid(lse_unl) - real_target * torch.sigmoid(-lse_unl)
    factors = [
        factor_unl * (0.5 * unsupervised_weight / sizes[-2]),
        torch.sigmoid(lse_gen) * (0.5 * unsupervised_weight / sizes[-1]),
    ]
    if labels is not None:
        factors.insert(0, logits.new_full((sizes[0],), 1.0 / sizes[0]))
    grad = probabilities * torch.cat(factors).unsqueeze(1)
    if labels is not None:
        grad[: sizes[0]].scatter_add_(1, labels.unsqueeze(1), logits.new_full((sizes[0], 1), -1.0 / sizes[0]))
    return stats, grad


def feature_matching_loss_and_gradient(real: Tensor, generated: Tensor, *, distance: str = "l2") -> tuple[Tensor, Tensor]:
    """Feature matching (mean reduction) and its gradient for the generated features.

    Shapes: ``real [N, F]``, ``generated [M, F]``; returns ``(loss [], grad [M, F])``.
    """
    if distance not in ("l2", "l1"):
        raise ValueError(f"expected distance 'l2' or 'l1' (got {distance!r})")
    gap = real.mean(0) - generated.mean(0)  # [F]
    units, rows = gap.numel(), len(generated)
    if distance == "l2":
        loss, grad_mean = gap.square().mean(), gap * (-2.0 / units)
    else:
        loss, grad_mean = gap.abs().mean(), gap.sign() * (-1.0 / units)
    return loss, (grad_mean / rows).expand(rows, units)
