r"""Confidence intervals for the accuracy of human judgements.

* :func:`wilson_interval` — Wilson (1927) score interval for a proportion
  :math:`\hat p = k/n`, the usual choice for accuracies near 50% and for small
  n, where the normal ("Wald") interval is too narrow:

  .. math::

      \frac{\hat p + \frac{z^2}{2n} \pm z\sqrt{\frac{\hat p(1-\hat p)}{n}
            + \frac{z^2}{4n^2}}}{1 + \frac{z^2}{n}}

* :func:`newcombe_difference_interval` — Newcombe (1998, method 10) interval for
  a difference of two proportions, built from their Wilson limits.
* :func:`cluster_bootstrap_interval` — percentile bootstrap over annotators.
  Votes of one annotator are not independent (skill varies between people), so
  a study's accuracy is also reported with an interval that resamples whole
  annotators; it is wider than the pooled Wilson interval when people differ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np


def _z(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1) (got {confidence})")
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson_interval(successes: int, trials: int, *, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of ``successes / trials``; ``(nan, nan)`` when ``trials == 0``."""
    if trials < 0 or not 0 <= successes <= max(trials, 0):
        raise ValueError(f"need 0 <= successes <= trials (got {successes}, {trials})")
    if trials == 0:
        return math.nan, math.nan
    z = _z(confidence)
    p = successes / trials
    denominator = 1 + z * z / trials
    center = (p + z * z / (2 * trials)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    return max(0.0, center - half), min(1.0, center + half)


@dataclass(frozen=True)
class Proportion:
    """``successes`` of ``trials`` with its Wilson interval (nan when there are no trials)."""

    successes: int
    trials: int
    low: float
    high: float

    @property
    def estimate(self) -> float:
        return self.successes / self.trials if self.trials else math.nan

    def to_dict(self) -> dict:
        return {
            "successes": self.successes,
            "trials": self.trials,
            "estimate": json_number(self.estimate),
            "ci95": [json_number(self.low), json_number(self.high)],
        }


def proportion(successes: int, trials: int, *, confidence: float = 0.95) -> Proportion:
    low, high = wilson_interval(successes, trials, confidence=confidence)
    return Proportion(int(successes), int(trials), low, high)


def newcombe_difference_interval(
    second: Proportion, first: Proportion
) -> tuple[float, float, float]:
    """``(d, low, high)`` for ``d = second - first`` from the two Wilson intervals."""
    if not (first.trials and second.trials):
        return math.nan, math.nan, math.nan
    p1, p2 = first.estimate, second.estimate
    d = p2 - p1
    low = d - math.sqrt((p2 - second.low) ** 2 + (first.high - p1) ** 2)
    high = d + math.sqrt((second.high - p2) ** 2 + (p1 - first.low) ** 2)
    return d, low, high


def cluster_bootstrap_interval(
    successes: np.ndarray,
    trials: np.ndarray,
    *,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``sum(successes) / sum(trials)`` over clusters.

    Args:
        successes, trials: ``[M]`` per-annotator correct votes and votes.
        n_resamples: bootstrap replicates; each draws M annotators with replacement.
        seed: the resampling is deterministic for a given seed.

    Returns ``(nan, nan)`` for fewer than two annotators (no spread to resample).
    """
    successes = np.asarray(successes, dtype=np.float64)
    trials = np.asarray(trials, dtype=np.float64)
    if successes.shape != trials.shape or successes.ndim != 1:
        raise ValueError(f"expected two [M] arrays (got {successes.shape}, {trials.shape})")
    if len(trials) < 2 or np.any(trials <= 0):
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(trials), size=(n_resamples, len(trials)))  # [B, M]
    ratios = successes[picks].sum(axis=1) / trials[picks].sum(axis=1)  # [B]
    alpha = (1 - confidence) / 2
    low, high = np.quantile(ratios, [alpha, 1 - alpha])
    return float(low), float(high)


def json_number(value: float) -> float | None:
    """A statistic for JSON: rounded to 6 decimals, ``None`` where undefined (NaN)."""
    return None if math.isnan(value) else round(float(value), 6)
