r"""Frechet distance between two Gaussians fitted to features (FID and its relatives).

Heusel et al. (2017), "GANs Trained by a Two Time-Scale Update Rule Converge to
a Local Nash Equilibrium", Eq. (6): for Gaussians
:math:`\mathcal N(\mu_1, \Sigma_1)` and :math:`\mathcal N(\mu_2, \Sigma_2)`,

.. math::

    d^2 = \lVert \mu_1 - \mu_2 \rVert_2^2 + \operatorname{tr}\Big(\Sigma_1 + \Sigma_2
          - 2 \big(\Sigma_1 \Sigma_2\big)^{1/2}\Big).

With Inception pool_3 features this is the FID; with the project's MNIST
classifier's penultimate features it is the "MNIST FD" (see docs/metrics.md).
Statistics are the sample mean and the unbiased sample covariance (ddof 1),
as in the FID reference implementation.

The trace of the matrix square root is computed without forming
:math:`(\Sigma_1\Sigma_2)^{1/2}`: :math:`\Sigma_1\Sigma_2` is similar to the
symmetric positive semi-definite :math:`\Sigma_1^{1/2}\Sigma_2\Sigma_1^{1/2}`, so
:math:`\operatorname{tr}(\Sigma_1\Sigma_2)^{1/2} = \sum_i \sqrt{\lambda_i}` over the
eigenvalues of that symmetric matrix (rounding-level negative eigenvalues are
clipped to 0). This stays real and finite for the singular covariances that
fewer samples than dimensions produce, where a general ``sqrtm`` needs an
epsilon fix-up.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["FeatureStatistics", "feature_statistics", "frechet_distance"]


class FeatureStatistics(NamedTuple):
    """Mean ``[D]`` and covariance ``[D, D]`` (float64) of ``count`` feature vectors."""

    mean: np.ndarray
    covariance: np.ndarray
    count: int


def feature_statistics(features) -> FeatureStatistics:
    """Sample mean and unbiased covariance (ddof 1) of ``[N, D]`` features, N >= 2, in float64."""
    if hasattr(features, "detach"):
        features = features.detach().cpu().double().numpy()
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"expected features of shape [N, D] (got {x.shape})")
    if x.shape[0] < 2:
        raise ValueError(f"need at least 2 feature vectors for a covariance (got {x.shape[0]})")
    if not np.isfinite(x).all():
        raise ValueError("features contain nan or inf")
    return FeatureStatistics(mean=x.mean(axis=0), covariance=np.cov(x, rowvar=False, ddof=1), count=len(x))


def frechet_distance(mean1, covariance1, mean2, covariance2) -> float:
    r"""Squared Frechet distance :math:`d^2` between two Gaussians, in float64.

    Args:
        mean1, mean2: ``[D]`` means.
        covariance1, covariance2: ``[D, D]`` symmetric positive semi-definite
            covariances.

    Returns:
        :math:`d^2 \ge 0` (a rounding-level negative value is returned as 0).
    """
    mu1, mu2 = _vector(mean1, "mean1"), _vector(mean2, "mean2")
    sigma1 = _covariance(covariance1, "covariance1", len(mu1))
    sigma2 = _covariance(covariance2, "covariance2", len(mu1))
    if mu2.shape != mu1.shape:
        raise ValueError(f"means differ in dimension ({mu1.shape[0]} vs {mu2.shape[0]})")

    root1 = _psd_sqrt(sigma1)
    middle = root1 @ sigma2 @ root1  # [D, D], similar to sigma1 @ sigma2
    eigenvalues = np.linalg.eigvalsh((middle + middle.T) / 2)
    trace_sqrt = np.sqrt(np.clip(eigenvalues, 0.0, None)).sum()

    diff = mu1 - mu2
    distance = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_sqrt
    return float(max(distance, 0.0))


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    eigenvalues, eigenvectors = np.linalg.eigh(matrix)
    return (eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None))) @ eigenvectors.T


def _vector(values, name: str) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1:
        raise ValueError(f"expected {name} of shape [D] (got {v.shape})")
    if not np.isfinite(v).all():
        raise ValueError(f"{name} contains nan or inf")
    return v


def _covariance(values, name: str, dim: int) -> np.ndarray:
    m = np.asarray(values, dtype=np.float64)
    if m.shape != (dim, dim):
        raise ValueError(f"expected {name} of shape [{dim}, {dim}] (got {m.shape})")
    if not np.isfinite(m).all():
        raise ValueError(f"{name} contains nan or inf")
    if not np.allclose(m, m.T, rtol=1e-6, atol=1e-10 * max(1.0, np.abs(m).max())):
        raise ValueError(f"{name} is not symmetric")
    return (m + m.T) / 2
