"""Frechet distance against scipy.linalg.sqrtm and closed-form cases."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from improved_gan.metrics.frechet import feature_statistics, frechet_distance


def _random_covariance(rng: np.random.Generator, d: int) -> np.ndarray:
    a = rng.normal(size=(d, 2 * d))
    return a @ a.T / (2 * d)


def _sqrtm_reference(mu1, s1, mu2, s2) -> float:
    """The textbook formula with a general matrix square root of the (non-symmetric) product."""
    root = scipy.linalg.sqrtm(s1 @ s2)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(root).real)


@pytest.mark.parametrize("d", [1, 5, 64])
def test_matches_scipy_sqrtm(d):
    rng = np.random.default_rng(d)
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    s1, s2 = _random_covariance(rng, d), _random_covariance(rng, d)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(_sqrtm_reference(mu1, s1, mu2, s2), rel=1e-9, abs=1e-9)


def test_same_gaussians_give_zero():
    rng = np.random.default_rng(0)
    mu, s = rng.normal(size=32), _random_covariance(rng, 32)
    assert frechet_distance(mu, s, mu, s) == pytest.approx(0.0, abs=1e-9)


def test_shifted_means_give_squared_shift():
    rng = np.random.default_rng(1)
    mu, s, shift = rng.normal(size=16), _random_covariance(rng, 16), rng.normal(size=16)
    assert frechet_distance(mu, s, mu + shift, s) == pytest.approx(shift @ shift, rel=1e-9)


def test_diagonal_covariances_have_closed_form():
    v1, v2 = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 0.25])
    expected = np.sum((np.sqrt(v1) - np.sqrt(v2)) ** 2)  # commuting covariances: ||sqrt(s1) - sqrt(s2)||_F^2
    assert frechet_distance(np.zeros(3), np.diag(v1), np.zeros(3), np.diag(v2)) == pytest.approx(expected)


def test_is_symmetric_and_finite_for_singular_covariances():
    rng = np.random.default_rng(2)
    n, d = 10, 50
    x1, x2 = rng.normal(size=(n, d)), rng.normal(size=(n, d)) + 1  # 10 samples in 50 dims: rank 9
    a, b = feature_statistics(x1), feature_statistics(x2)
    d_ab = frechet_distance(a.mean, a.covariance, b.mean, b.covariance)
    d_ba = frechet_distance(b.mean, b.covariance, a.mean, a.covariance)
    # Tolerance from the computation, not from one machine: the two orders take square roots of different
    # singular matrices. An eigensolver returns each of the d - r null eigenvalues of a matrix M as some
    # |delta| <= d * eps * ||M|| (backward stability), and the square root turns that into sqrt(d * eps * ||M||):
    # square roots are ill-conditioned at 0. Each order has d - r such terms in sqrt(Sigma_1) and in the
    # trace of sqrt(sqrt(Sigma_1) Sigma_2 sqrt(Sigma_1)) (||M|| <= ||Sigma_1|| ||Sigma_2||), and 2 multiplies
    # that trace: 2 orders x 2 x 2 (d - r) sqrt(d eps ||Sigma_1|| ||Sigma_2||). That is about 3e-4 here; measured
    # |d_ab - d_ba|: 6e-8 on an AVX2 host, 1.5e-7 on an AVX-512 host (whose LAPACK kernels differ).
    rank = n - 1
    norm = np.linalg.norm(a.covariance, 2) * np.linalg.norm(b.covariance, 2)
    tolerance = 8 * (d - rank) * np.sqrt(d * np.finfo(np.float64).eps * norm)
    assert np.isfinite(d_ab) and np.isfinite(d_ba)
    assert abs(d_ab - d_ba) <= tolerance
    assert tolerance < 1e-5 * d_ab  # the bound still says something: d is about 133


def test_feature_statistics_are_mean_and_unbiased_covariance():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(200, 4)).astype(np.float32)
    stats = feature_statistics(x)
    centred = x.astype(np.float64) - x.astype(np.float64).mean(axis=0)
    assert stats.count == 200
    np.testing.assert_allclose(stats.mean, x.astype(np.float64).mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(stats.covariance, centred.T @ centred / 199, rtol=1e-12)
    assert stats.mean.dtype == np.float64


@pytest.mark.parametrize(
    "args, message",
    [
        ((np.zeros((2, 2)), np.eye(2), np.zeros(2), np.eye(2)), "mean1 of shape"),
        ((np.zeros(2), np.eye(3), np.zeros(2), np.eye(2)), "covariance1 of shape"),
        ((np.zeros(2), np.eye(2), np.zeros(3), np.eye(2)), "differ in dimension"),
        ((np.zeros(2), np.array([[1.0, 0.5], [0.0, 1.0]]), np.zeros(2), np.eye(2)), "not symmetric"),
        ((np.array([np.nan, 0.0]), np.eye(2), np.zeros(2), np.eye(2)), "nan"),
    ],
)
def test_bad_input_is_rejected(args, message):
    with pytest.raises(ValueError, match=message):
        frechet_distance(*args)


def test_feature_statistics_need_two_samples():
    with pytest.raises(ValueError, match="at least 2"):
        feature_statistics(np.zeros((1, 3)))
