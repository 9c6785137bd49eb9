"""One-sided label smoothing (Section 3.4): targets, stable loss, and the optimal discriminator."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import norm

from improved_gan.errors import ConfigError
from improved_gan.techniques import (
    SmoothedDiscriminatorLoss,
    one_sided_smoothed_targets,
    smoothed_discriminator_loss,
)


def test_targets_are_alpha_then_zero():
    targets = one_sided_smoothed_targets(3, 2, alpha=0.75, dtype=torch.float64)
    assert targets.tolist() == [0.75, 0.75, 0.75, 0.0, 0.0]
    assert one_sided_smoothed_targets(2, 1).dtype == torch.get_default_dtype()


def test_loss_equals_the_cross_entropy_written_out():
    real, fake = torch.randn(6, dtype=torch.float64), torch.randn(4, dtype=torch.float64)
    alpha = 0.9
    d_real, d_fake = 1 / (1 + np.exp(-real.numpy())), 1 / (1 + np.exp(-fake.numpy()))
    expected = np.mean(-alpha * np.log(d_real) - (1 - alpha) * np.log(1 - d_real)) + np.mean(-np.log(1 - d_fake))
    # rel=1e-12: float64, softplus against log(sigmoid) of standard normal logits: log(1 - d) loses
    # ~e^|s| eps, ~1e-14 for |s| < 4; the loss is O(1); a wrong alpha weighting or a smoothed fake
    # target errs by > 1%
    assert smoothed_discriminator_loss(real, fake, alpha=alpha).item() == pytest.approx(expected, rel=1e-12)


def test_loss_equals_bce_against_the_smoothed_targets():
    real, fake = torch.randn(5, 1), torch.randn(5, 1)
    targets = one_sided_smoothed_targets(5, 5, alpha=0.8)
    per_example = torch.nn.functional.binary_cross_entropy_with_logits(
        torch.cat([real, fake]).squeeze(1), targets, reduction="none"
    )
    # float32 defaults (1.3e-6 relative): two formulas of one softplus, a few float32 ulps apart; a wrong
    # target (1 instead of 0.8) moves the loss by ~0.1
    torch.testing.assert_close(smoothed_discriminator_loss(real, fake, alpha=0.8, reduction="none"), per_example)


def test_stable_at_extreme_logits():
    loss = smoothed_discriminator_loss(torch.tensor([1000.0, -1000.0]), torch.tensor([1000.0, -1000.0]))
    assert torch.isfinite(loss)
    # real: 0.9*softplus(-s) + 0.1*softplus(s) -> (0.1*1000 + 0.9*1000)/2 ; fake: softplus(s) -> (1000 + 0)/2
    # rel=1e-6: float32 ulp of 1000 is 6e-5 (6e-8 relative), and softplus(1000) = 1000 + 0 exactly in float32;
    # an overflow gives inf, a naive log(sigmoid) gives inf or 0
    assert loss.item() == pytest.approx(500.0 + 500.0, rel=1e-6)


def test_optimal_discriminator_is_alpha_p_data_over_sum():
    """Minimise the smoothed loss pointwise on a grid for two known Gaussians (Section 3.4)."""
    alpha = 0.9
    grid = np.linspace(-3.0, 6.0, 181)
    p_data, p_model = norm.pdf(grid, loc=0.0, scale=1.0), norm.pdf(grid, loc=1.5, scale=1.5)
    w_data, w_model = torch.from_numpy(p_data), torch.from_numpy(p_model)

    def gradient(logits: torch.Tensor) -> torch.Tensor:
        """d/ds_k of sum_k p_data(x_k) loss_real(s_k) + p_model(x_k) loss_fake(s_k), via autograd."""
        logits = logits.clone().requires_grad_(True)
        per_example = smoothed_discriminator_loss(logits, logits, alpha=alpha, reduction="none")
        (w_data * per_example[: len(grid)] + w_model * per_example[len(grid) :]).sum().backward()
        return logits.grad

    # the objective is separable and convex in each logit: bisect each derivative's sign change
    low = torch.full((len(grid),), -60.0, dtype=torch.float64)
    high = torch.full((len(grid),), 60.0, dtype=torch.float64)
    for _ in range(200):
        middle = (low + high) / 2
        rising = gradient(middle) > 0
        high, low = torch.where(rising, middle, high), torch.where(rising, low, middle)
    d_star = torch.sigmoid((low + high) / 2).numpy()
    # 200 bisections shrink [-60, 60] below float64's spacing: D* is the float64 gradient's sign change,
    # found to ~eps absolute (measured 2e-16 absolute, 2e-15 relative with D* >= 1.9e-6, AVX2 and
    # ATEN_CPU_CAPABILITY=default); rtol 1e-9 leaves the float64 gradient's round-off 1e6 of room and still
    # sees another alpha or a non-zero fake target (> 1e-2)
    np.testing.assert_allclose(d_star, alpha * p_data / (p_data + p_model), rtol=1e-9, atol=1e-15)
    assert d_star.max() < alpha and d_star[-1] < 1e-5  # below alpha; ~0 where only the model has mass


def test_alpha_one_is_the_unsmoothed_gan_loss():
    real, fake = torch.randn(4), torch.randn(4)
    expected = torch.nn.functional.softplus(-real).mean() + torch.nn.functional.softplus(fake).mean()
    # float32 defaults (1.3e-6 relative): the same softplus terms, summed in another order (~1e-7)
    torch.testing.assert_close(smoothed_discriminator_loss(real, fake, alpha=1.0), expected)


def test_module_and_repr():
    module = SmoothedDiscriminatorLoss(alpha=0.75)
    real, fake = torch.randn(3, 1), torch.randn(2, 1)
    torch.testing.assert_close(module(real, fake), smoothed_discriminator_loss(real, fake, alpha=0.75))  # one function
    assert repr(module) == "SmoothedDiscriminatorLoss(alpha=0.75, reduction='mean')"


def test_bad_arguments():
    for alpha in (0.0, 1.5, -0.1):
        with pytest.raises(ConfigError, match=r"alpha \(the smoothed real target\) must be in \(0, 1\]"):
            smoothed_discriminator_loss(torch.zeros(2), torch.zeros(2), alpha=alpha)
    with pytest.raises(ValueError, match=r"expected real_logits of shape \[N\] or \[N, 1\] \(got \(2, 3\)\)"):
        smoothed_discriminator_loss(torch.zeros(2, 3), torch.zeros(2))
    with pytest.raises(ConfigError, match="reduction"):
        SmoothedDiscriminatorLoss(reduction="sum")
    with pytest.raises(ValueError, match="non-negative"):
        one_sided_smoothed_targets(-1, 2)
