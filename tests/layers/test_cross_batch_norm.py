"""The cross batch norm against a loop over channels in NumPy float64."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from improved_gan.layers import CrossBatchNorm, cross_batch_norm


def _reference(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    """Channel by channel: the first C//2 with the real (first) half's moments, the rest with the generated half's."""
    half, channels = x.shape[0] // 2, x.shape[1]
    y = np.empty_like(x)
    for c in range(channels):
        source = x[:half, c] if c < channels // 2 else x[half:, c]
        mean = source.mean()
        var = ((source - mean) ** 2).mean()
        y[:, c] = (x[:, c] - mean) / np.sqrt(var + eps) * gamma[c] + beta[c]
    return y


@pytest.mark.parametrize("shape", [(6, 5, 3, 4), (4, 7), (2, 2, 1, 1)])
def test_matches_a_loop_in_float64(shape):
    rng = np.random.default_rng(0)
    x = rng.normal(2.0, 3.0, size=shape)
    x[: shape[0] // 2] += 5.0  # the halves differ, so using the wrong half's moments shows
    gamma, beta = rng.normal(1, 0.1, size=shape[1]), rng.normal(0, 0.1, size=shape[1])
    got = cross_batch_norm(torch.from_numpy(x), torch.from_numpy(gamma), torch.from_numpy(beta), eps=1e-5)
    # float64: means and variances of <= 36 values ~7 +- 3, another summation order: ~36 eps (1e-14) relative,
    # and outputs ~3 of size carry it; the wrong half's moments move them by ~1.5 (the halves are 5 apart)
    np.testing.assert_allclose(got.numpy(), _reference(x, gamma, beta, 1e-5), rtol=1e-12, atol=1e-12)


def test_module_parameters_and_gradients():
    norm = CrossBatchNorm(6, dtype=torch.float64)
    assert norm.weight.shape == norm.bias.shape == (6,)
    assert torch.all(norm.bias == 0) and abs(norm.weight.mean().item() - 1) < 0.1
    x = torch.randn(4, 6, 3, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: norm(t), (x,))
    assert "real_statistics=channels[:3]" in repr(norm)


def test_statistics_come_from_one_half_per_channel():
    norm = CrossBatchNorm(2, affine=False)
    real, generated = torch.randn(3, 2, 4, 4), torch.randn(3, 2, 4, 4) * 10 + 7
    y = norm(torch.cat([real, generated]))
    # channel 0 is standardised over the real half, channel 1 over the generated half
    # float32 mean of 48 standardised values: ~1e-7 (1e-5 bound); the std is sqrt(var / (var + eps)),
    # 1 - eps / (2 var) ~ 5e-6 off one for var ~ 1 (1e-3 bound); the other half's moments are ~10x off
    assert abs(y[:3, 0].mean().item()) < 1e-5 and abs(y[:3, 0].std(correction=0).item() - 1) < 1e-3
    assert abs(y[3:, 1].mean().item()) < 1e-5 and abs(y[3:, 1].std(correction=0).item() - 1) < 1e-3
    # changing the generated half leaves channel 0 of the real rows alone
    y2 = norm(torch.cat([real, generated * 2]))  # same rows, same moments: float32 defaults (1.3e-6) ~exact
    torch.testing.assert_close(y2[:3, 0], y[:3, 0])


@pytest.mark.parametrize("rows", [0, 1, 3])
def test_needs_two_equal_halves(rows):
    with pytest.raises(ValueError, match="joint batch \\[real; generated\\] of two equal halves"):
        CrossBatchNorm(4)(torch.randn(rows, 4, 2, 2))
    with pytest.raises(ValueError, match=r"expected input of shape \[N, 4\]"):
        CrossBatchNorm(4)(torch.randn(4, 3))


def test_towers_are_normalised_each_with_its_own_rows():
    """8 + 8 rows in towers of 2 (real rows 2t, 2t+1 with generated rows 8+2t, 8+2t+1): four separate batch norms."""
    x = torch.randn(16, 6, 3, 3, dtype=torch.float64) * torch.arange(1, 17, dtype=torch.float64).view(16, 1, 1, 1)
    gamma, beta = torch.rand(6, dtype=torch.float64) + 0.5, torch.randn(6, dtype=torch.float64)
    got = cross_batch_norm(x, gamma, beta, tower_size=2)
    for t in range(4):
        # float64: moments of 2 x 9 values in another layout than one tower alone (~10 eps of |x| <= 50, ~1e-14
        # absolute after standardising); a tower with another's rows is off by O(1)
        rows = [2 * t, 2 * t + 1, 8 + 2 * t, 9 + 2 * t]
        torch.testing.assert_close(got[rows], cross_batch_norm(x[rows], gamma, beta), rtol=1e-12, atol=1e-12)
    assert not torch.allclose(got, cross_batch_norm(x, gamma, beta))  # one tower of 16: other moments
    with pytest.raises(ValueError, match="towers of 3 real \\+ 3 generated rows"):
        CrossBatchNorm(6, tower_size=3)(x)
