"""Feature matching (Section 3.1) against NumPy float64 and closed-form gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from improved_gan.errors import ConfigError
from improved_gan.techniques import FeatureMatchingLoss, feature_matching_loss


def _numpy_loss(real: np.ndarray, fake: np.ndarray, distance: str, reduction: str) -> float:
    difference = real.reshape(len(real), -1).mean(axis=0) - fake.reshape(len(fake), -1).mean(axis=0)
    per_unit = difference**2 if distance == "l2" else np.abs(difference)
    return float(per_unit.mean() if reduction == "mean" else per_unit.sum())


@pytest.mark.parametrize("distance", ["l2", "l1"])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_value_matches_numpy(distance, reduction):
    rng = np.random.default_rng(1)
    real, fake = rng.normal(size=(7, 5)), rng.normal(loc=0.3, size=(4, 5))
    loss = feature_matching_loss(torch.from_numpy(real), torch.from_numpy(fake), distance=distance, reduction=reduction)
    # rel=1e-12: float64 means of <= 7 terms in another order than NumPy's: ~10 eps (2e-15) of the O(1)
    # inputs per unit difference, and the loss (~0.1-1 here) carries ~1e-14 of itself; a wrong reduction,
    # distance or per-sample comparison errs by > 10%
    assert loss.item() == pytest.approx(_numpy_loss(real, fake, distance, reduction), rel=1e-12)


@pytest.mark.parametrize("distance", ["l2", "l1"])
def test_zero_when_batch_means_agree_though_samples_differ(distance):
    real = torch.randn(6, 9, dtype=torch.float64)
    fake = real.mean(0) + torch.randn(3, 9, dtype=torch.float64)
    fake = fake - fake.mean(0) + real.mean(0)  # same mean, different samples and batch size
    assert not torch.allclose(fake, real[:3])
    # the means agree to the round-off of two float64 means of <= 6 terms: a few eps of the largest |x|,
    # 16 eps leaves room for any summation order; comparing samples instead would give O(1)
    bound = 16 * torch.finfo(torch.float64).eps * max(real.abs().max().item(), fake.abs().max().item())
    assert feature_matching_loss(real, fake, distance=distance).item() == pytest.approx(0.0, abs=bound)


def test_per_sample_comparison_would_not_be_zero():
    """The pitfall: same distribution, different samples; the batch-mean loss is small, a per-sample one is not."""
    real, fake = torch.randn(4096, 8, dtype=torch.float64), torch.randn(4096, 8, dtype=torch.float64)
    # sampling bounds, not rounding: the batch-mean loss has mean 2/4096 = 4.9e-4 and sd 2.4e-4 (1e-2 is
    # 40 sd away); the per-sample one has mean 2 and sd 0.016 (1.5 is 30 sd below), whatever the draws
    assert feature_matching_loss(real, fake).item() < 1e-2
    assert (real - fake).square().mean().item() > 1.5


def test_l2_gradient_is_closed_form():
    real = torch.randn(5, 4, dtype=torch.float64, requires_grad=True)
    fake = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    feature_matching_loss(real, fake, distance="l2", reduction="mean").backward()
    difference = (real.mean(0) - fake.mean(0)).detach()  # [F]
    units = real.size(1)
    # d/d fake_m,u of mean_u (mu_r - mu_f)^2 = -2 (mu_r - mu_f)_u / (F M); same with + for real over N
    # assert_close's float64 defaults (1e-7) here and below: autograd and the closed form are a few float64
    # operations apart (~1e-15); a wrong factor (F, M, 2) or sign errs by >= 50%
    torch.testing.assert_close(fake.grad, (-2 * difference / (units * fake.size(0))).expand(3, 4))
    torch.testing.assert_close(real.grad, (2 * difference / (units * real.size(0))).expand(5, 4))


def test_l1_sum_gradient_is_sign_over_batch():
    real = torch.randn(5, 4, dtype=torch.float64)
    fake = torch.randn(2, 4, dtype=torch.float64, requires_grad=True)
    feature_matching_loss(real, fake, distance="l1", reduction="sum").backward()
    sign = torch.sign(real.mean(0) - fake.mean(0).detach())  # exactly +-1/2 per entry (defaults, as above)
    torch.testing.assert_close(fake.grad, (-sign / 2).expand(2, 4))


def test_conv_features_are_flattened():
    real, fake = torch.randn(3, 2, 4, 4, dtype=torch.float64), torch.randn(5, 2, 4, 4, dtype=torch.float64)
    expected = feature_matching_loss(real.flatten(1), fake.flatten(1))  # the same float64 operations: ~exact
    torch.testing.assert_close(feature_matching_loss(real, fake), expected)


def test_gradcheck():
    real = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    fake = torch.randn(6, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda r, f: feature_matching_loss(r, f), (real, fake))


def test_module_matches_function_and_repr():
    real, fake = torch.randn(4, 3), torch.randn(4, 3)
    module = FeatureMatchingLoss(distance="l1", reduction="sum")  # one function on the same tensors: exact
    torch.testing.assert_close(module(real, fake), feature_matching_loss(real, fake, distance="l1", reduction="sum"))
    assert repr(module) == "FeatureMatchingLoss(distance='l1', reduction='sum')"


def test_bad_arguments():
    with pytest.raises(ConfigError, match="distance must be one of 'l2', 'l1'"):
        feature_matching_loss(torch.zeros(2, 3), torch.zeros(2, 3), distance="cosine")
    with pytest.raises(ConfigError, match="reduction"):
        FeatureMatchingLoss(reduction="none")
    with pytest.raises(ValueError, match=r"same per-example shape \(got \(3,\) and \(4,\)\)"):
        feature_matching_loss(torch.zeros(2, 3), torch.zeros(2, 4))
    with pytest.raises(ValueError, match="at least one example"):
        feature_matching_loss(torch.zeros(0, 3), torch.zeros(2, 3))


def test_the_batch_mean_can_be_given():
    """Under data parallelism the step passes the mean over every rank's rows; here a stand-in of it."""
    real, fake = torch.randn(6, 4, dtype=torch.float64), torch.randn(6, 4, dtype=torch.float64)
    assert feature_matching_loss(real, fake, batch_mean=lambda x: x.mean(0)) == feature_matching_loss(real, fake)
    first_rows = feature_matching_loss(real, fake, batch_mean=lambda x: x[:3].mean(0))  # same float64 means
    torch.testing.assert_close(first_rows, feature_matching_loss(real[:3], fake[:3]))
