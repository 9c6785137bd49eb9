"""Balanced labeled subsets for semi-supervised training (paper, Section 5).

The semi-supervised experiments train with labels for only ``num_labels``
examples, the same number per class, and use the whole training set as the
unlabeled pool. The subset is chosen as the authors' code chose it
(docs/reference.md): permute the training set with a generator seeded by the
data seed, then take the first ``num_labels / num_classes`` examples of each
class in permutation order.

The permutation is ``np.random.RandomState(seed).permutation(N)``: the legacy
Mersenne-Twister stream, which NumPy keeps bit-for-bit stable across versions
and platforms, and the generator the authors' code used, so for the same data
order and seed the labeled examples are theirs.
"""

from __future__ import annotations

import numpy as np

from improved_gan.errors import UserError

_MAX_SEED = 2**32 - 1


def labeled_subset(labels: np.ndarray, num_labels: int, *, seed: int, num_classes: int = 10) -> np.ndarray:
    """Indices of a class-balanced labeled subset, chosen by ``seed``.

    Args:
        labels: integer class labels ``[N]`` of the training set, in ``0 .. num_classes - 1``.
        num_labels: total labeled examples; a positive multiple of ``num_classes``.
        seed: the data seed, ``0 <= seed < 2**32``.
        num_classes: number of classes ``K``.

    Returns:
        int64 indices into ``labels``, ``[num_labels]``: class 0's examples, then
        class 1's, ..., each class's in permutation order.

    Example:
        >>> labels = np.repeat(np.arange(10), 100)
        >>> idx = labeled_subset(labels, 100, seed=1)
        >>> np.bincount(labels[idx]).tolist()
        [10, 10, 10, 10, 10, 10, 10, 10, 10, 10]
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"expected integer labels [N] (got {labels.dtype} {labels.shape})")
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"expected labels in 0..{num_classes - 1} (got {labels.min()}..{labels.max()})")
    if isinstance(num_labels, bool) or not isinstance(num_labels, (int, np.integer)):
        raise UserError(f"the number of labels must be an integer (got {num_labels!r})")
    if num_labels <= 0 or num_labels % num_classes:
        raise UserError(
            f"the number of labels must be a positive multiple of {num_classes} (the number of classes), "
            f"so that every class gets the same number; got {num_labels}"
        )
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= _MAX_SEED:
        raise UserError(f"the data seed must be an integer in 0..{_MAX_SEED} (got {seed!r})")
    per_class = num_labels // num_classes
    counts = np.bincount(labels, minlength=num_classes)
    short = [c for c in range(num_classes) if counts[c] < per_class]
    if short:
        c = short[0]
        raise UserError(
            f"{num_labels} labels means {per_class} per class, but class {c} has only {counts[c]} "
            f"examples in this training set (the smallest class has {counts.min()}); "
            f"ask for at most {counts.min() * num_classes} labels"
        )
    order = np.random.RandomState(int(seed)).permutation(len(labels))  # [N]
    permuted = labels[order]
    chosen = [order[permuted == c][:per_class] for c in range(num_classes)]
    return np.concatenate(chosen).astype(np.int64)
