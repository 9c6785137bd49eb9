"""What a discriminator returns, so that losses never reach into a model's internals."""

from __future__ import annotations

from typing import NamedTuple, Sequence

from torch import Tensor

__all__ = ["DiscriminatorOutput"]


class DiscriminatorOutput(NamedTuple):
    """A discriminator's class logits and the features feature matching uses.

    The semi-supervised discriminators have ``K`` real-class logits; the logit of
    the "generated" class is fixed at 0 (Section 5), so ``D(x) = Z / (Z + 1)`` with
    ``Z = sum_k exp(logits_k)``.

    Attributes:
        logits: ``[N, K]``.
        features: ``[N, F]``, the layer Section 3.1's feature matching uses (MNIST:
            the last hidden layer; CIFAR-10/SVHN: the global-average-pool output).
    """

    logits: Tensor
    features: Tensor

    def split(self, sizes: Sequence[int]) -> tuple["DiscriminatorOutput", ...]:
        """Cut the rows of a concatenated batch (e.g. labeled, unlabeled, generated) apart.

        Args:
            sizes: the number of rows of each part; they must add up to ``N``.

        Returns:
            One :class:`DiscriminatorOutput` per part, in order.
        """
        total = self.logits.shape[0]
        if sum(sizes) != total or any(size < 0 for size in sizes):
            raise ValueError(f"sizes {list(sizes)} do not split a batch of {total} rows")
        logits = self.logits.split(list(sizes))
        features = self.features.split(list(sizes))
        return tuple(DiscriminatorOutput(l, f) for l, f in zip(logits, features))
