"""Which examples each training step sees (docs/reference.md, "Data").

Per epoch the authors draw two independent permutations of the unlabeled pool
(one for D's step, one for the feature-matching G step) and tile the labeled
subset to the same length, reshuffling each copy. :func:`epoch_plan` returns the
three index streams cut into ``[iterations, batch_size]`` blocks; every draw comes
from one NumPy generator whose state lives in the checkpoint.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class EpochPlan(NamedTuple):
    unlabeled: np.ndarray         # [iterations, batch] indices into the unlabeled pool (D step)
    unlabeled_fm: np.ndarray      # [iterations, batch] a second draw (G step's real batch)
    labeled: np.ndarray | None    # [iterations, batch] indices into the training set, or None


def permutation_stream(rng: np.random.Generator, pool: np.ndarray, length: int) -> np.ndarray:
    """``length`` items of ``pool``: consecutive fresh permutations, concatenated."""
    copies = -(-length // len(pool))
    return np.concatenate([rng.permutation(pool) for _ in range(copies)])[:length]


def iterations_per_epoch(num_unlabeled: int, batch_size: int, override: int | None = None) -> int:
    """One pass over the unlabeled pool (600 for MNIST at batch 100), unless overridden."""
    return override if override is not None else max(1, num_unlabeled // batch_size)


def epoch_plan(
    rng: np.random.Generator,
    *,
    num_unlabeled: int,
    labeled_indices: np.ndarray | None,
    batch_size: int,
    iterations: int,
) -> EpochPlan:
    total = iterations * batch_size
    pool = np.arange(num_unlabeled)
    # the authors tile the labeled set to the unlabeled pool's size, then cut batches
    labeled = None
    if labeled_indices is not None:
        labeled_length = max(total, num_unlabeled)
        labeled = permutation_stream(rng, labeled_indices, labeled_length)[:total]
        labeled = labeled.reshape(iterations, batch_size)
    unlabeled = permutation_stream(rng, pool, total).reshape(iterations, batch_size)
    unlabeled_fm = permutation_stream(rng, pool, total).reshape(iterations, batch_size)
    return EpochPlan(unlabeled, unlabeled_fm, labeled)
