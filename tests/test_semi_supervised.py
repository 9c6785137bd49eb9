"""The K+1 losses against naive definitions computed independently in float64 NumPy.

Tolerances: float64 losses of O(1) logits are a few ulp (1e-16) times a conditioning below 10 on any
CPU's exp/log kernels, so rel=1e-12 leaves 1e3 and a wrong term errs by > 1e-3; at logits of +-1000
the inputs are float32 (rel=1e-6: the float32 rounding of LSE ~ 1002, 6e-8, a few times over).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from improved_gan import semi_supervised as ss


def naive_d(logits: np.ndarray) -> np.ndarray:
    """D(x) = Z/(Z+1), Z = sum_k exp l_k: the paper's formula, no tricks."""
    z = np.exp(logits).sum(axis=1)
    return z / (z + 1.0)


def test_unsupervised_loss_equals_half_gan_loss_with_naive_d():
    rng = np.random.default_rng(0)
    unl, gen = rng.normal(size=(7, 10)), rng.normal(size=(5, 10))
    expected = 0.5 * np.mean(-np.log(naive_d(unl))) + 0.5 * np.mean(-np.log(1 - naive_d(gen)))
    got = ss.unsupervised_loss(torch.tensor(unl), torch.tensor(gen)).item()
    assert got == pytest.approx(expected, rel=1e-12)


def test_unsupervised_loss_matches_authors_expression():
    rng = np.random.default_rng(1)
    unl, gen = rng.normal(size=(6, 10)) * 3, rng.normal(size=(6, 10)) * 3
    lse = lambda a: np.log(np.exp(a).sum(axis=1))  # noqa: E731
    softplus = lambda a: np.log1p(np.exp(a))  # noqa: E731
    expected = (
        -0.5 * lse(unl).mean() + 0.5 * softplus(lse(unl)).mean() + 0.5 * softplus(lse(gen)).mean()
    )
    got = ss.unsupervised_loss(torch.tensor(unl), torch.tensor(gen)).item()
    assert got == pytest.approx(expected, rel=1e-12)


def test_supervised_loss_is_cross_entropy_of_k_logits():
    rng = np.random.default_rng(2)
    logits, labels = rng.normal(size=(8, 10)), rng.integers(0, 10, size=8)
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    expected = -np.log(p[np.arange(8), labels]).mean()
    got = ss.supervised_loss(torch.tensor(logits), torch.tensor(labels)).item()
    assert got == pytest.approx(expected, rel=1e-12)


def test_total_is_supervised_plus_weighted_unsupervised():
    g = torch.Generator().manual_seed(0)
    lab, unl, gen = (torch.randn(4, 10, generator=g, dtype=torch.float64) for _ in range(3))
    labels = torch.tensor([0, 3, 9, 3])
    out = ss.discriminator_loss(unl, gen, logits_lab=lab, labels=labels, unsupervised_weight=0.25)
    assert out.total.item() == pytest.approx(out.supervised.item() + 0.25 * out.unsupervised.item())
    unlabeled_only = ss.discriminator_loss(unl, gen, real_target=0.8)
    assert unlabeled_only.supervised is None
    assert unlabeled_only.total.item() == ss.unsupervised_loss(unl, gen, real_target=0.8).item()
    with pytest.raises(ValueError, match="logits_lab and labels together"):
        ss.discriminator_loss(unl, gen, logits_lab=lab)


@pytest.mark.parametrize("scale", [1000.0, -1000.0])
def test_losses_are_finite_and_exact_at_extreme_logits(scale):
    logits = torch.full((3, 10), scale, requires_grad=True)
    lse = scale + np.log(10.0)
    # -log D = softplus(-lse), -log(1-D) = softplus(lse): exact values at |lse| ~ 1000
    sp = lambda a: max(a, 0.0) + np.log1p(np.exp(-abs(a)))  # noqa: E731
    expected = 0.5 * sp(-lse) + 0.5 * sp(lse)
    loss = ss.unsupervised_loss(logits, logits)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(logits.grad).all()
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    gen = ss.generator_saturating_loss(logits)
    assert torch.isfinite(gen) and gen.item() == pytest.approx(-sp(lse), rel=1e-6)


def test_probability_real_and_generator_losses_against_naive_d():
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(5, 10))
    t = torch.tensor(logits)
    np.testing.assert_allclose(ss.probability_real(t).numpy(), naive_d(logits), rtol=1e-12)
    assert ss.generator_saturating_loss(t).item() == pytest.approx(
        np.mean(np.log(1 - naive_d(logits))), rel=1e-12
    )
    assert ss.generator_non_saturating_loss(t).item() == pytest.approx(
        np.mean(-np.log(naive_d(logits))), rel=1e-12
    )


def test_shape_errors_say_what_was_expected():
    with pytest.raises(ValueError, match=r"expected logits_unl of shape \[N, K\]"):
        ss.unsupervised_loss(torch.zeros(3), torch.zeros(3, 10))
    with pytest.raises(ValueError, match="expected labels of shape"):
        ss.supervised_loss(torch.zeros(3, 10), torch.zeros(4, dtype=torch.long))


def test_classification_errors_counts_argmax_mistakes():
    logits = torch.tensor([[0.0, 1.0], [2.0, 1.0], [0.0, 3.0]])
    errors = ss.classification_errors(logits, torch.tensor([1, 1, 1]))
    assert errors.dim() == 0 and errors.item() == 1


def test_smoothed_unsupervised_loss_is_cross_entropy_against_alpha():
    rng = np.random.default_rng(4)
    unl, gen = rng.normal(size=(6, 10)), rng.normal(size=(6, 10))
    alpha = 0.9
    d_real, d_gen = naive_d(unl), naive_d(gen)
    expected = 0.5 * np.mean(-alpha * np.log(d_real) - (1 - alpha) * np.log(1 - d_real))
    expected += 0.5 * np.mean(-np.log(1 - d_gen))
    got = ss.unsupervised_loss(torch.tensor(unl), torch.tensor(gen), real_target=alpha).item()
    assert got == pytest.approx(expected, rel=1e-12)


def test_k_plus_one_loss_is_the_sigmoid_loss_of_logsumexp():
    real, fake = torch.randn(6, 10, dtype=torch.float64), torch.randn(4, 10, dtype=torch.float64)
    alpha = 0.9
    z_real, z_fake = real.exp().sum(1).numpy(), fake.exp().sum(1).numpy()
    d_real, d_fake = z_real / (z_real + 1), z_fake / (z_fake + 1)  # D = Z / (Z + 1), l_{K+1} = 0
    expected = np.mean(-alpha * np.log(d_real) - (1 - alpha) * np.log(1 - d_real)) + np.mean(-np.log(1 - d_fake))
    assert 2 * ss.unsupervised_loss(real, fake, real_target=alpha).item() == pytest.approx(expected, rel=1e-12)


def test_k_plus_one_with_explicit_generated_logit():
    logits_real, logits_fake = torch.randn(5, 11, dtype=torch.float64), torch.randn(3, 11, dtype=torch.float64)
    p_real = torch.softmax(logits_real, 1)[:, 10].numpy()  # p(y = K+1 | x)
    p_fake = torch.softmax(logits_fake, 1)[:, 10].numpy()
    expected = np.mean(-0.8 * np.log(1 - p_real) - 0.2 * np.log(p_real)) + np.mean(-np.log(p_fake))
    loss = 2 * ss.unsupervised_loss(
        logits_real[:, :10] - logits_real[:, 10:], logits_fake[:, :10] - logits_fake[:, 10:], real_target=0.8
    )
    assert loss.item() == pytest.approx(expected, rel=1e-12)


def test_unsupervised_loss_needs_the_same_classes_on_both_sides():
    with pytest.raises(ValueError, match="same K"):
        ss.unsupervised_loss(torch.zeros(2, 3), torch.zeros(2, 4))
