r"""The Inception score of Section 4, as a pure float64 function of class probabilities.

Salimans et al. (2016), Section 4: with :math:`p(y \mid x)` a classifier's
predicted distribution over classes for a sample :math:`x` and :math:`p(y)` the
marginal over the samples,

.. math::

    \mathrm{IS} = \exp\Big( \mathbb{E}_x\, \mathrm{KL}\big(p(y \mid x) \,\|\, p(y)\big) \Big).

As the authors' released code computes it, the N samples are cut into
``splits`` contiguous parts (10 by default, in the given order, no shuffling);
each part :math:`S` gets its own marginal :math:`p_S(y) = \frac{1}{|S|}\sum_{i \in S}
p(y \mid x_i)` and its own score
:math:`\exp\big(\frac{1}{|S|}\sum_{i\in S}\sum_y p(y \mid x_i)(\log p(y \mid x_i) - \log p_S(y))\big)`;
the result is the mean and the population standard deviation (ddof 0) of the
per-part scores.

Split boundaries are exactly the original's: part ``k`` holds rows
``[k * N // splits, (k + 1) * N // splits)``. Every sample is used; when N is
not a multiple of ``splits`` the parts differ in size by one (N = 25, 10 splits:
sizes 2, 3, 2, 3, ...).

Unlike the original (which takes ``np.log`` of the probabilities and so turns
an exact zero into ``nan``), terms with :math:`p = 0` count as
:math:`0 \log 0 = 0`, the limit that the definition intends.

The score lies in ``[1, K]`` for K classes: 1 when every sample gets the same
prediction, K when the predictions are confident (one-hot) and spread evenly
over all K classes.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.special import xlogy

__all__ = ["SplitScore", "split_bounds", "inception_score", "inception_score_from_logits"]

#: The original's default number of splits.
DEFAULT_SPLITS = 10

# Rows of a probability matrix must sum to 1 within this tolerance (float32
# softmax outputs are accurate to a few 1e-7).
_ROW_SUM_TOLERANCE = 1e-4


class SplitScore(NamedTuple):
    """A score computed on each of several splits: mean and std (ddof 0) over splits."""

    mean: float
    std: float


def split_bounds(n: int, splits: int) -> list[tuple[int, int]]:
    """The original's contiguous parts: ``[(k*n//splits, (k+1)*n//splits) for k in range(splits)]``."""
    if splits < 1:
        raise ValueError(f"expected splits >= 1 (got {splits})")
    if n < splits:
        raise ValueError(f"expected at least one sample per split (got {n} samples for {splits} splits)")
    return [(k * n // splits, (k + 1) * n // splits) for k in range(splits)]


def _split_scores(probabilities: np.ndarray, splits: int) -> np.ndarray:
    scores = np.empty(splits, dtype=np.float64)
    for k, (start, stop) in enumerate(split_bounds(len(probabilities), splits)):
        part = probabilities[start:stop]  # [n_k, K]
        marginal = part.mean(axis=0, keepdims=True)  # [1, K]
        kl = (xlogy(part, part) - xlogy(part, marginal)).sum(axis=1)  # [n_k]
        scores[k] = np.exp(kl.mean())
    return scores


def inception_score(probabilities, *, splits: int = DEFAULT_SPLITS) -> SplitScore:
    r"""Inception score (Section 4) of class probabilities, per split, in float64.

    Args:
        probabilities: ``[N, K]`` array (NumPy or torch); row i is
            :math:`p(y \mid x_i)`, non-negative and summing to 1.
        splits: number of contiguous parts (default 10, the original's); needs
            ``N >= splits``.

    Returns:
        :class:`SplitScore` ``(mean, std)`` over the splits, std with ddof 0.

    Example::

        >>> one_hot = np.tile(np.eye(10), (5, 1))  # 50 confident predictions, every class in every split
        >>> score = inception_score(one_hot, splits=5)
        >>> round(score.mean, 9), score.std
        (10.0, 0.0)
    """
    p = _as_float64_matrix(probabilities, "probabilities")
    if not np.isfinite(p).all():
        raise ValueError("probabilities contain nan or inf")
    if (p < 0).any():
        raise ValueError(f"probabilities must be non-negative (min {p.min():.3g})")
    row_error = np.abs(p.sum(axis=1) - 1.0).max()
    if row_error > _ROW_SUM_TOLERANCE:
        raise ValueError(
            f"each row of probabilities must sum to 1 (off by up to {row_error:.3g}); "
            "pass logits to inception_score_from_logits instead"
        )
    scores = _split_scores(p, splits)
    return SplitScore(mean=float(scores.mean()), std=float(scores.std()))


def inception_score_from_logits(logits, *, splits: int = DEFAULT_SPLITS) -> SplitScore:
    r""":func:`inception_score` of ``softmax(logits)``, the softmax taken in float64.

    Args:
        logits: ``[N, K]`` unnormalised log-probabilities (for the Inception
            network: its 1008 ``logits_unbiased``, i.e. pool_3 times the softmax
            weights without the bias, as in the original graph).
        splits: as in :func:`inception_score`.
    """
    z = _as_float64_matrix(logits, "logits")
    if not np.isfinite(z).all():
        raise ValueError("logits contain nan or inf")
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    return inception_score(p, splits=splits)


def _as_float64_matrix(values, name: str) -> np.ndarray:
    if hasattr(values, "detach"):  # a torch tensor, on any device
        values = values.detach().cpu().double().numpy()
    matrix = np.asarray(values, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[1] < 1:
        raise ValueError(f"expected {name} of shape [N, K] (got {matrix.shape})")
    return matrix
