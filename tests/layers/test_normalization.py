"""The generators' batch norm against a float64 NumPy derivation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from improved_gan.layers import BatchStatisticsNorm, batch_statistics_norm


def _numpy_reference(x: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    """(x - mean) / sqrt(var + eps) + b, statistics per channel (axis 1) over every other axis."""
    axes = tuple(a for a in range(x.ndim) if a != 1)
    shape = [1] * x.ndim
    shape[1] = -1
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)  # divisor n
    return (x - mean) / np.sqrt(var + eps) + bias.reshape(shape)


@pytest.mark.parametrize("shape", [(100, 7), (6, 5, 4, 4)])
def test_matches_numpy(shape):
    norm = BatchStatisticsNorm(shape[1], dtype=torch.float64)
    with torch.no_grad():
        norm.bias.copy_(torch.randn(shape[1], dtype=torch.float64))
    x = torch.randn(shape, dtype=torch.float64) * 3 + 2
    expected = _numpy_reference(x.numpy(), norm.bias.detach().numpy(), 1e-6)
    np.testing.assert_allclose(norm(x).detach().numpy(), expected, rtol=1e-10, atol=1e-10)


def test_eps_is_inside_the_square_root():
    x = torch.tensor([[0.0], [2e-3]], dtype=torch.float64)  # var = 1e-6, equal to eps
    y = batch_statistics_norm(x, None, eps=1e-6)
    torch.testing.assert_close(y, torch.tensor([[-1e-3], [1e-3]], dtype=torch.float64) / (2e-6) ** 0.5)


def test_eval_mode_still_uses_batch_statistics_and_keeps_no_running_stats():
    norm = BatchStatisticsNorm(3)
    x = torch.randn(20, 3) * 5
    torch.testing.assert_close(norm.eval()(x), norm.train()(x))
    assert not list(norm.buffers())
    assert [name for name, _ in norm.named_parameters()] == ["bias"]


def test_a_row_depends_on_the_rest_of_the_batch():
    norm = BatchStatisticsNorm(4)
    x = torch.randn(10, 4)
    other = torch.cat([x[:1], torch.randn(9, 4)])
    assert not torch.allclose(norm(x)[0], norm(other)[0])


@pytest.mark.parametrize(
    "bad_input, message",
    [
        (torch.randn(1, 3), "at least 2 values"),
        (torch.randn(4, 5), r"\[N, 3\]"),
        (torch.randn(4, 3, 2), r"\[N, 3\]"),
    ],
)
def test_bad_inputs(bad_input, message):
    with pytest.raises(ValueError, match=message):
        BatchStatisticsNorm(3)(bad_input)


def test_single_example_feature_maps_have_enough_values():
    assert BatchStatisticsNorm(3)(torch.randn(1, 3, 4, 4)).shape == (1, 3, 4, 4)


def test_bfloat16_autocast_runs():
    norm = BatchStatisticsNorm(8)
    x = torch.randn(16, 8)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = norm(x.bfloat16())
    # bf16 keeps 8 bits (relative spacing 2^-8 = 4e-3, native or emulated alike): the input's and the
    # output's rounding and the statistics' over 16 rows stay within ~1e-2 of unit-scale outputs
    torch.testing.assert_close(y.float(), norm(x), atol=0.05, rtol=0.05)


def test_repr():
    assert repr(BatchStatisticsNorm(500)) == "BatchStatisticsNorm(500, eps=1e-06, scale=False, statistics=batch)"
