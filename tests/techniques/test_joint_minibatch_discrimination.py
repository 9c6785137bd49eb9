"""The ImageNet joint-batch minibatch features against straightforward loops in float64."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from improved_gan.techniques import JointMinibatchDiscrimination, joint_minibatch_features


def _loop(m: np.ndarray) -> np.ndarray:
    """For every row i and kernel b: mean of exp(-L1) to the real half and to the generated half, j != i."""
    rows, kernels, _ = m.shape
    half = rows // 2
    out = np.zeros((rows, 2 * kernels))
    for i in range(rows):
        for b in range(kernels):
            to_real = [math.exp(-np.abs(m[i, b] - m[j, b]).sum()) for j in range(half) if j != i]
            to_gen = [math.exp(-np.abs(m[i, b] - m[j, b]).sum()) for j in range(half, rows) if j != i]
            out[i, b] = sum(to_real) / len(to_real)
            out[i, kernels + b] = sum(to_gen) / len(to_gen)
    return out


@pytest.mark.parametrize("rows", [4, 6, 10])
def test_matches_a_loop_in_float64(rows):
    m = np.random.default_rng(rows).normal(0, 0.3, size=(rows, 3, 4))
    got = joint_minibatch_features(torch.from_numpy(m))
    np.testing.assert_allclose(got.numpy(), _loop(m), rtol=1e-12, atol=1e-14)


def test_layer_projects_with_a_biased_linear_and_concatenates():
    layer = JointMinibatchDiscrimination(7, num_kernels=3, kernel_dim=2, dtype=torch.float64)
    with torch.no_grad():
        layer.bias.normal_()
    x = torch.randn(6, 7, dtype=torch.float64)
    m = (x @ layer.weight.T + layer.bias).view(6, 3, 2)
    out = layer(x)
    assert out.shape == (6, 7 + 6) and layer.out_features == 13
    assert torch.equal(out[:, :7], x)
    np.testing.assert_allclose(out[:, 7:].detach().numpy(), _loop(m.detach().numpy()), rtol=1e-12)
    x.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: layer(t), (x,))


def test_authors_sizes_and_initialisation():
    layer = JointMinibatchDiscrimination(2560)
    assert (layer.num_kernels, layer.kernel_dim) == (300, 50)
    assert layer.weight.shape == (15_000, 2560) and layer.bias.shape == (15_000,)
    assert torch.all(layer.bias == 0) and abs(layer.weight.std().item() - 0.02) < 1e-3


@pytest.mark.parametrize("rows", [2, 3, 5])
def test_needs_two_halves_of_two_rows(rows):
    with pytest.raises(ValueError, match="joint batch \\[real; generated\\] of two equal halves"):
        joint_minibatch_features(torch.zeros(rows, 3, 2))
