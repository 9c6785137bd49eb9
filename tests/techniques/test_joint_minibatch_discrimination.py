"""The ImageNet joint-batch minibatch features against straightforward loops in float64."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from improved_gan.techniques import JointMinibatchDiscrimination, joint_minibatch_features


def _loop(m: np.ndarray) -> np.ndarray:
    """For every row i and kernel b: the sums of exp(-L1) to the real half and to the generated half, j != i,
    each divided by the sum of the self-exclusion mask over that half's columns (discriminator.py's f1, f2)."""
    rows, kernels, _ = m.shape
    half = rows // 2
    mask = 1.0 - np.eye(rows)
    out = np.zeros((rows, 2 * kernels))
    for i in range(rows):
        for b in range(kernels):
            to_real = [math.exp(-np.abs(m[i, b] - m[j, b]).sum()) for j in range(half) if j != i]
            to_gen = [math.exp(-np.abs(m[i, b] - m[j, b]).sum()) for j in range(half, rows) if j != i]
            out[i, b] = sum(to_real) / mask[:, :half].sum()
            out[i, kernels + b] = sum(to_gen) / mask[:, half:].sum()
    return out


def test_the_divisor_is_one_scalar_496_for_16_plus_16_rows():
    # identical rows: every closeness is 1, so a real row sums 15 (real, itself excluded) and 16 (generated);
    # the authors divide both by the mask's sum over one half's columns: 32 rows x 16 columns - 16 = 496
    out = joint_minibatch_features(torch.zeros(32, 2, 3, dtype=torch.float64))
    # float64 defaults (1e-7): sums of 15 or 16 ones divided by 496, exact up to one rounding; 15 or 16 as the
    # divisor would err by 3000x
    torch.testing.assert_close(out[0], torch.tensor([15 / 496] * 2 + [16 / 496] * 2, dtype=torch.float64))
    torch.testing.assert_close(out[31], torch.tensor([16 / 496] * 2 + [15 / 496] * 2, dtype=torch.float64))
    # four towers of 16 + 16 in one call: the same values, not 63 / (128 * 64 - 64)
    towers = joint_minibatch_features(torch.zeros(128, 2, 3, dtype=torch.float64), tower_size=16)
    torch.testing.assert_close(towers, torch.cat([out[:1].expand(64, -1), out[-1:].expand(64, -1)]))


def test_towers_are_compared_within_themselves():
    m = np.random.default_rng(5).normal(0, 0.3, size=(8, 3, 4))  # real rows 0-3, generated 4-7; towers of 2
    got = joint_minibatch_features(torch.from_numpy(m), tower_size=2).numpy()
    for t in range(2):
        rows = [2 * t, 2 * t + 1, 4 + 2 * t, 4 + 2 * t + 1]
        # float64: <= 2 exp(-d) <= 1 of L1 distances of 4 coordinates, /4: ~10 eps (2e-15) of O(1) terms
        # (atol for features whose exps underflow towards 0); another tower's rows err by >= 1e-3
        np.testing.assert_allclose(got[rows], _loop(m[rows]), rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match="towers of 3 real \\+ 3 generated rows"):
        joint_minibatch_features(torch.from_numpy(m), tower_size=3)


@pytest.mark.parametrize("rows", [4, 6, 10])
def test_matches_a_loop_in_float64(rows):
    m = np.random.default_rng(rows).normal(0, 0.3, size=(rows, 3, 4))
    got = joint_minibatch_features(torch.from_numpy(m))
    # float64: <= 5 exp(-d) of L1 distances of 4 coordinates, over one divisor: ~10 eps of the O(1) terms;
    # atol for features near 0; a wrong divisor or a row compared with itself errs by > 1e-2
    np.testing.assert_allclose(got.numpy(), _loop(m), rtol=1e-12, atol=1e-14)


def test_layer_projects_with_a_biased_linear_and_concatenates():
    layer = JointMinibatchDiscrimination(7, num_kernels=3, kernel_dim=2, dtype=torch.float64)
    with torch.no_grad():
        layer.bias.normal_()
    x = torch.randn(6, 7, dtype=torch.float64)
    m = (x @ layer.weight.T + layer.bias).view(6, 3, 2)
    out = layer(x)
    assert out.shape == (6, 7 + 6) and layer.out_features == 13
    assert torch.equal(out[:, :7], x)  # below: float64 projection of 7 terms then the loop's sums (~10 eps)
    np.testing.assert_allclose(out[:, 7:].detach().numpy(), _loop(m.detach().numpy()), rtol=1e-12)
    x.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: layer(t), (x,))


def test_authors_sizes_and_initialisation():
    layer = JointMinibatchDiscrimination(2560)
    assert (layer.num_kernels, layer.kernel_dim) == (300, 50)
    assert layer.weight.shape == (15_000, 2560) and layer.bias.shape == (15_000,)
    # a sampling bound: the std of 3.8e7 normal draws is 0.02 to ~2e-6; 1e-3 still tells 0.02 from 0.05 or 0.01
    assert torch.all(layer.bias == 0) and abs(layer.weight.std().item() - 0.02) < 1e-3


@pytest.mark.parametrize("rows", [2, 3, 5])
def test_needs_two_halves_of_two_rows(rows):
    with pytest.raises(ValueError, match="joint batch \\[real; generated\\] of two equal halves"):
        joint_minibatch_features(torch.zeros(rows, 3, 2))
