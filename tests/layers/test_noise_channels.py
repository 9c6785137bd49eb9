"""Fresh Uniform(-1, 1) noise channels, the ImageNet generator's per-layer noise."""

from __future__ import annotations

import pytest
import torch

from improved_gan.layers import NoiseChannels, noise_channels


def test_appends_uniform_channels_and_keeps_the_input():
    x = torch.randn(8, 5, 6, 6, dtype=torch.float64)
    y = NoiseChannels(3).eval()(x)  # drawn in eval mode too: it is generator input
    assert y.shape == (8, 8, 6, 6) and y.dtype == torch.float64
    assert torch.equal(y[:, :5], x)
    noise = y[:, 5:]
    assert noise.min() >= -1 and noise.max() <= 1 and noise.min() < -0.9 and noise.max() > 0.9
    assert not torch.equal(NoiseChannels(3)(x)[:, 5:], noise)  # fresh every call


def test_seeded_generator_and_dense_input():
    first = noise_channels(torch.zeros(2, 4), 2, generator=torch.Generator().manual_seed(1))
    second = noise_channels(torch.zeros(2, 4), 2, generator=torch.Generator().manual_seed(1))
    assert first.shape == (2, 6) and torch.equal(first, second)
    assert noise_channels(torch.zeros(2, 4), 0).shape == (2, 4)


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_channels must be a positive integer"):
        NoiseChannels(0)
    with pytest.raises(ValueError, match="expected low < high"):
        NoiseChannels(2, low=1.0, high=-1.0)
    with pytest.raises(ValueError, match=r"expected input of shape \[N, C\]"):
        noise_channels(torch.zeros(3), 2)


def test_the_reference_rows_noise_is_drawn_once():
    layer = NoiseChannels(3, reference_size=2, spatial=(4, 4))
    assert layer.reference_noise.shape == (2, 3, 4, 4) and "reference_noise" in layer.state_dict()
    first, second = layer(torch.zeros(5, 1, 4, 4)), layer(torch.zeros(5, 1, 4, 4))
    assert torch.equal(first[:2, 1:], layer.reference_noise) and torch.equal(second[:2], first[:2])
    assert not torch.equal(first[2:], second[2:])  # the other rows: fresh
    assert layer.reference_noise.min() >= -1 and layer.reference_noise.max() <= 1
    with pytest.raises(ValueError, match=r"expected input of shape \[N >= 2, C, 4, 4\]"):
        layer(torch.zeros(1, 1, 4, 4))
