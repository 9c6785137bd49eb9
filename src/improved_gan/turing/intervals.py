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
  :func:`cluster_bootstrap_difference` does the same for a difference within
  annotators (the learning effect).
* :func:`binomial_two_sided_p` — exact binomial test against the chance level.
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
    sums = _cluster_resample_sums([successes, trials], n_resamples=n_resamples, seed=seed)
    if sums is None:
        return math.nan, math.nan
    return _percentile_interval(sums[0] / sums[1], confidence)


def cluster_bootstrap_difference(
    second: tuple[np.ndarray, np.ndarray],
    first: tuple[np.ndarray, np.ndarray],
    *,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of a difference of two pooled ratios over clusters.

    ``second`` and ``first`` are ``(successes [M], trials [M])`` of the same M
    annotators (e.g. the second and the first half of their sessions); each
    replicate draws M annotators with replacement and keeps both halves of each,
    so the interval respects that one person's halves go together.
    """
    sums = _cluster_resample_sums([*second, *first], n_resamples=n_resamples, seed=seed)
    if sums is None:
        return math.nan, math.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        differences = sums[0] / sums[1] - sums[2] / sums[3]  # [B]
    return _percentile_interval(differences[np.isfinite(differences)], confidence)


def _cluster_resample_sums(
    columns: list[np.ndarray], *, n_resamples: int, seed: int
) -> np.ndarray | None:
    """``[len(columns), B]`` sums of each column over B resamples of its M rows (None if M < 2)."""
    table = np.stack([np.asarray(c, dtype=np.float64) for c in columns])  # [K, M]
    if table.ndim != 2 or any(np.shape(c) != np.shape(columns[0]) for c in columns):
        raise ValueError(f"expected [M] arrays of one length (got {[np.shape(c) for c in columns]})")
    if table.shape[1] < 2 or np.any(table[1::2].sum(axis=1) <= 0):
        return None
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, table.shape[1], size=(n_resamples, table.shape[1]))  # [B, M]
    return table[:, picks].sum(axis=2)  # [K, B]


def _percentile_interval(values: np.ndarray, confidence: float) -> tuple[float, float]:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1) (got {confidence})")
    if len(values) == 0:
        return math.nan, math.nan
    alpha = (1 - confidence) / 2
    low, high = np.quantile(values, [alpha, 1 - alpha])
    return float(low), float(high)


def binomial_two_sided_p(successes: int, trials: int, p: float = 0.5) -> float:
    r"""Exact two-sided binomial test of ``successes`` of ``trials`` against rate ``p``.

    The p-value sums :math:`P(X = i)` over every ``i`` no more likely than the
    observed count (the "minimum likelihood" definition, as R's ``binom.test``),
    with :math:`P(X = i) = \binom{n}{i} p^i (1-p)^{n-i}`, computed in logs.
    """
    if trials < 0 or not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials (got {successes}, {trials})")
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be in (0, 1) (got {p})")
    if trials == 0:
        return 1.0
    i = np.arange(trials + 1)
    log_pmf = (
        np.array([math.lgamma(trials + 1) - math.lgamma(k + 1) - math.lgamma(trials - k + 1)
                  for k in i])
        + i * math.log(p) + (trials - i) * math.log1p(-p)
    )
    observed = log_pmf[successes]
    tail = log_pmf[log_pmf <= observed + 1e-7]  # ties within rounding count as "as likely"
    top = tail.max()
    return float(min(1.0, math.exp(top) * np.exp(tail - top).sum()))  # 0.0 only below ~1e-308


def json_p_value(value: float) -> float | None:
    """A p-value for JSON: unrounded (1.66e-61 stays 1.66e-61, not 0.0), ``None`` where undefined."""
    return None if math.isnan(value) else float(value)


def json_number(value: float) -> float | None:
    """A statistic for JSON: rounded to 6 decimals, ``None`` where undefined (NaN)."""
    return None if math.isnan(value) else round(float(value), 6)
