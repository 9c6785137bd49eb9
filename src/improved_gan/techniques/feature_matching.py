r"""Feature matching (Section 3.1): the generator matches the batch mean of D's features.

Instead of maximising the discriminator's output, the generator minimises the
distance between the *expected* features of real and generated data on an
intermediate layer :math:`\mathbf f` of the discriminator:

.. math::

    \big\lVert \mathbb{E}_{x \sim p_\text{data}} \mathbf f(x)
             - \mathbb{E}_{z \sim p_z} \mathbf f(G(z)) \big\rVert_2^2 .

Which layer :math:`\mathbf f` is, is the model's choice: the discriminator
returns its features beside its logits, and this loss only sees tensors.
"""

from __future__ import annotations

from typing import Callable

from torch import Tensor, nn

from improved_gan.techniques._checks import check_choice, check_nonempty_batch

DISTANCES = ("l2", "l1")
REDUCTIONS = ("mean", "sum")


def feature_matching_loss(
    real_features: Tensor,
    fake_features: Tensor,
    *,
    distance: str = "l2",
    reduction: str = "mean",
    batch_mean: Callable[[Tensor], Tensor] | None = None,
) -> Tensor:
    r"""Distance between the batch means of real and generated features.

    Paper: Section 3.1. With :math:`\mu_r = \frac1N \sum_n \mathbf f(x_n)` and
    :math:`\mu_g = \frac1M \sum_m \mathbf f(G(z_m))` (each of F units):

    .. math::

        \text{l2:}\ \ \operatorname{red}_{u=1..F}\,(\mu_{r,u} - \mu_{g,u})^2
        \qquad
        \text{l1:}\ \ \operatorname{red}_{u=1..F}\,\lvert \mu_{r,u} - \mu_{g,u} \rvert

    where :math:`\operatorname{red}` is the mean over units (``reduction="mean"``,
    the default) or the sum (``"sum"``). ``distance="l2", reduction="sum"`` is
    the paper's :math:`\lVert\mu_r - \mu_g\rVert_2^2`; ``"l2", "mean"`` is what
    the authors' MNIST code minimises (the same up to the factor 1/F); ``"l1",
    "mean"`` is their CIFAR-10 / SVHN code. The means are taken over the batch
    *before* the distance: comparing features sample by sample is a different
    (and wrong) objective, which is not zero when two different batches of the
    same distribution are compared.

    Both arguments keep their gradients; in the generator's step the real
    features are usually computed under :func:`torch.no_grad` (or detached), so
    that the loss does not leave gradients on the discriminator.

    Args:
        real_features: features of a real batch, ``[N, F]`` or ``[N, *]``.
        fake_features: features of a generated batch, ``[M, F]`` or ``[M, *]``,
            with the same trailing shape; ``M`` may differ from ``N``.
        distance: ``"l2"`` (squared difference, default) or ``"l1"`` (absolute).
        reduction: ``"mean"`` (default) or ``"sum"`` over the feature units.
        batch_mean: the mean over the batch, ``[N, F] -> [F]``; default ``x.mean(0)``.
            Under data parallelism the step passes the differentiable mean over every
            rank's rows (:func:`improved_gan.training.global_batch.global_mean`), so that
            N ranks match the means of the global batch, as one process does.

    Shape:
        - real_features: ``[N, *]``; fake_features: ``[M, *]`` (same ``*``).
        - Output: scalar.

    Example::

        >>> real, fake = torch.randn(100, 250), torch.randn(100, 250)
        >>> feature_matching_loss(real, fake).shape
        torch.Size([])
    """
    check_choice("distance", distance, DISTANCES)
    check_choice("reduction", reduction, REDUCTIONS)
    check_nonempty_batch("real_features", real_features)
    check_nonempty_batch("fake_features", fake_features)
    if real_features.shape[1:] != fake_features.shape[1:]:
        raise ValueError(
            "expected real_features and fake_features to have the same per-example shape "
            f"(got {tuple(real_features.shape[1:])} and {tuple(fake_features.shape[1:])})"
        )
    if batch_mean is None:
        batch_mean = _rows_mean
    mean_real = batch_mean(real_features.flatten(1))  # [F]
    mean_fake = batch_mean(fake_features.flatten(1))  # [F]
    difference = mean_real - mean_fake
    per_unit = difference.square() if distance == "l2" else difference.abs()
    return per_unit.mean() if reduction == "mean" else per_unit.sum()


def _rows_mean(x: Tensor) -> Tensor:
    return x.mean(0)


class FeatureMatchingLoss(nn.Module):
    r"""Module form of :func:`feature_matching_loss` (Section 3.1).

    .. math::

        \operatorname{red}_u\, d\big(\mathbb{E}\,\mathbf f(x)_u,\ \mathbb{E}\,\mathbf f(G(z))_u\big),
        \quad d \in \{(\cdot)^2, \lvert\cdot\rvert\}

    Args:
        distance: ``"l2"`` (default, paper and authors' MNIST code) or ``"l1"``
            (authors' CIFAR-10 / SVHN code).
        reduction: ``"mean"`` over feature units (default, authors' code) or
            ``"sum"`` (the paper's squared norm).

    Shape:
        - Input: ``real_features [N, *]``, ``fake_features [M, *]``.
        - Output: scalar.

    Example::

        >>> loss_fn = FeatureMatchingLoss(distance="l1")
        >>> loss = loss_fn(torch.randn(8, 16), torch.randn(4, 16, requires_grad=True))
        >>> loss.backward()
    """

    def __init__(self, *, distance: str = "l2", reduction: str = "mean") -> None:
        super().__init__()
        check_choice("distance", distance, DISTANCES)
        check_choice("reduction", reduction, REDUCTIONS)
        self.distance = distance
        self.reduction = reduction

    def forward(self, real_features: Tensor, fake_features: Tensor) -> Tensor:
        return feature_matching_loss(
            real_features, fake_features, distance=self.distance, reduction=self.reduction
        )

    def extra_repr(self) -> str:
        return f"distance={self.distance!r}, reduction={self.reduction!r}"
