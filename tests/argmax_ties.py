"""Bounds on a count of argmax mistakes that another computation of the same logits may make.

Two computations of one network's logits (another batch size, a stacked pass, another CPU's product
kernels) agree only to rounding, so a row whose two best logits nearly tie may be counted either way.
"""

from __future__ import annotations

import numpy as np


def error_count_bounds(logits: np.ndarray, labels: np.ndarray, margin: float) -> tuple[int, int]:
    """The fewest and the most argmax mistakes that logits within ``margin`` of ``logits`` can make.

    ``logits [N, K]``, ``labels [N]``. A row whose label's logit and best other logit are within
    ``2 * margin`` of each other may be counted either way by another computation of the same logits;
    every other row is counted the same by both.
    """
    rows = np.arange(len(labels))
    others = logits.copy()
    others[rows, labels] = -np.inf
    gap = logits[rows, labels] - others.max(axis=1)  # > 0: right
    return int((gap < -2 * margin).sum()), int((gap <= 2 * margin).sum())
