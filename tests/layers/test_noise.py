"""Gaussian noise: N(0, std^2) per element in training mode, identity otherwise."""

from __future__ import annotations

import pytest
import torch

from improved_gan.layers import GaussianNoise, gaussian_noise


def test_training_mode_adds_noise_with_the_right_moments():
    x = torch.full((400, 500), 3.0)
    noise = gaussian_noise(x, 0.5) - x  # 200,000 draws: mean within ~0.0011*4, std within ~0.0008*4
    assert abs(noise.mean().item()) < 0.005
    assert abs(noise.std().item() - 0.5) < 0.004
    # uncorrelated across rows and columns
    flat = noise.reshape(-1)
    assert abs(torch.corrcoef(torch.stack([flat[:-1], flat[1:]]))[0, 1].item()) < 0.01


def test_eval_mode_and_zero_std_are_the_identity():
    x = torch.randn(5, 7)
    layer = GaussianNoise(0.3).eval()
    assert layer(x) is x
    assert GaussianNoise(0.0)(x) is x
    assert gaussian_noise(x, 0.3, training=False) is x


def test_training_mode_is_random_and_seeded_by_torch():
    layer = GaussianNoise(0.3)
    x = torch.zeros(10)
    torch.manual_seed(7)
    first = layer(x)
    torch.manual_seed(7)
    assert torch.equal(layer(x), first)
    assert not torch.equal(layer(x), first)


@pytest.mark.parametrize("dtype", [torch.float64, torch.bfloat16])
def test_keeps_dtype(dtype):
    x = torch.zeros(3, 4, dtype=dtype)
    assert GaussianNoise(0.5)(x).dtype == dtype


def test_gradient_passes_through_unchanged():
    x = torch.randn(4, 3, requires_grad=True)
    GaussianNoise(0.5)(x).sum().backward()
    assert torch.equal(x.grad, torch.ones(4, 3))


@pytest.mark.parametrize("std", [-0.1, float("nan"), float("inf")])
def test_bad_std_is_rejected(std):
    with pytest.raises(ValueError, match="std must be"):
        GaussianNoise(std)


def test_repr():
    assert repr(GaussianNoise(0.5)) == "GaussianNoise(std=0.5)"
