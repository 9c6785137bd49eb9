"""Weight-normalised layers against the formula w = g v / ||v||, computed independently in NumPy."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from improved_gan.layers import (
    WeightNormConv2d,
    WeightNormConvTranspose2d,
    WeightNormLinear,
    weight_norm_scale,
)


def _randomise(layer, generator_seed=1):
    """Give g and b non-trivial values so the formula is exercised fully."""
    generator = torch.Generator().manual_seed(generator_seed)
    with torch.no_grad():
        layer.weight_g.copy_(torch.rand(layer.weight_g.shape, generator=generator, dtype=layer.weight_g.dtype) + 0.5)
        layer.bias.copy_(torch.randn(layer.bias.shape, generator=generator, dtype=layer.bias.dtype))
    return layer


def _numpy_weight(v: np.ndarray, g: np.ndarray, unit_axis: int) -> np.ndarray:
    """w[u] = g[u] * v[u] / sqrt(sum of v[u]^2), looping over output units."""
    w = np.empty_like(v)
    for u in range(v.shape[unit_axis]):
        v_u = np.take(v, u, axis=unit_axis)
        index = [slice(None)] * v.ndim
        index[unit_axis] = u
        w[tuple(index)] = g[u] * v_u / np.sqrt((v_u**2).sum())
    return w


def test_linear_equals_numpy_formula():
    layer = _randomise(WeightNormLinear(7, 5, dtype=torch.float64))
    x = torch.randn(4, 7, dtype=torch.float64)
    v, g, b = (t.detach().numpy() for t in (layer.weight_v, layer.weight_g, layer.bias))
    expected = x.numpy() @ _numpy_weight(v, g, unit_axis=0).T + b
    np.testing.assert_allclose(layer(x).detach().numpy(), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.weight.detach().numpy(), _numpy_weight(v, g, 0), rtol=1e-12)


def test_linear_without_bias_and_leading_dims():
    layer = WeightNormLinear(3, 2, bias=False, init_scale=None, dtype=torch.float64)
    x = torch.randn(2, 5, 3, dtype=torch.float64)
    torch.testing.assert_close(layer(x), x @ layer.weight.T)
    assert layer.bias is None and set(layer.state_dict()) == {"weight_v", "weight_g"}


def test_conv2d_equals_numpy_formula():
    layer = _randomise(WeightNormConv2d(3, 4, 3, stride=2, padding=1, dtype=torch.float64))
    x = torch.randn(2, 3, 9, 9, dtype=torch.float64)
    v, g, b = (t.detach().numpy() for t in (layer.weight_v, layer.weight_g, layer.bias))
    w = torch.from_numpy(_numpy_weight(v, g, unit_axis=0))  # [out, in, k, k], one norm per out channel
    expected = F.conv2d(x, w, torch.from_numpy(b), stride=2, padding=1)
    torch.testing.assert_close(layer(x), expected, rtol=1e-12, atol=1e-12)
    assert layer(x).shape == (2, 4, 5, 5)  # (9 + 2 - 3) // 2 + 1 = 5


def test_conv_transpose2d_normalises_per_output_channel_and_doubles_size():
    layer = _randomise(
        WeightNormConvTranspose2d(6, 3, 5, stride=2, padding=2, output_padding=1, dtype=torch.float64)
    )
    x = torch.randn(2, 6, 4, 4, dtype=torch.float64)
    v, g, b = (t.detach().numpy() for t in (layer.weight_v, layer.weight_g, layer.bias))
    w = torch.from_numpy(_numpy_weight(v, g, unit_axis=1))  # [in, out, k, k], one norm per out channel
    expected = F.conv_transpose2d(x, w, torch.from_numpy(b), stride=2, padding=2, output_padding=1)
    out = layer(x)
    torch.testing.assert_close(out, expected, rtol=1e-12, atol=1e-12)
    assert out.shape == (2, 3, 8, 8)  # (4 - 1) * 2 - 2 * 2 + 5 + 1 = 8


def test_output_does_not_depend_on_the_length_of_v():
    layer = _randomise(WeightNormLinear(6, 4, dtype=torch.float64))
    x = torch.randn(3, 6, dtype=torch.float64)
    before = layer(x)
    with torch.no_grad():
        layer.weight_v.mul_(torch.tensor([[3.0], [0.1], [7.0], [1.5]], dtype=torch.float64))
    torch.testing.assert_close(layer(x), before)


def test_weight_norm_scale_function():
    v = torch.tensor([[3.0, 4.0], [0.0, 2.0]])
    g = torch.tensor([10.0, 1.0])
    torch.testing.assert_close(weight_norm_scale(v, g, (1,)), torch.tensor([2.0, 0.5]))


def test_frozen_scale_is_a_buffer_that_stays_frozen():
    layer = WeightNormLinear(4, 3)
    assert not layer.weight_g.requires_grad
    assert "weight_g" in dict(layer.named_buffers())
    assert "weight_g" not in dict(layer.named_parameters())
    layer.requires_grad_(True)  # what a GAN trainer does when it re-enables a network
    assert not layer.weight_g.requires_grad
    assert set(layer.state_dict()) == {"weight_v", "weight_g", "bias"}


def test_trainable_scale_is_a_parameter_and_gets_a_gradient():
    layer = WeightNormLinear(4, 3, trainable_scale=True)
    assert "weight_g" in dict(layer.named_parameters())
    layer(torch.randn(5, 4)).square().sum().backward()
    assert layer.weight_g.grad is not None and layer.weight_g.grad.abs().sum() > 0
    assert layer.weight_v.grad.shape == (3, 4)


def test_frozen_and_trainable_state_dicts_load_into_each_other():
    frozen, trainable = WeightNormLinear(4, 3), WeightNormLinear(4, 3, trainable_scale=True)
    with torch.no_grad():
        frozen.weight_g.fill_(2.5)
    trainable.load_state_dict(frozen.state_dict())
    torch.testing.assert_close(trainable.weight_g.detach(), torch.full((3,), 2.5))


def test_float64_parameters_and_output():
    layer = WeightNormConv2d(2, 3, 3, padding=1, dtype=torch.float64)
    assert all(t.dtype == torch.float64 for t in layer.state_dict().values())
    assert layer(torch.randn(1, 2, 4, 4, dtype=torch.float64)).dtype == torch.float64


def test_bfloat16_autocast_keeps_float32_weights_and_returns_bfloat16():
    layer = WeightNormLinear(32, 16)
    x = torch.randn(8, 32)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = layer(x)
    assert low.dtype == torch.bfloat16
    assert layer.weight_v.dtype == torch.float32
    # bf16 operands and output (relative spacing 2^-8 = 4e-3, native or emulated alike): a 32-term dot
    # product of O(1) terms with fp32 accumulation errs by ~sqrt(32) x 2e-3 ~ 1e-2 at most on unit outputs
    torch.testing.assert_close(low.float(), layer(x), rtol=0.05, atol=0.05)


@pytest.mark.parametrize(
    "layer, bad_input, message",
    [
        (WeightNormLinear(4, 3), torch.randn(2, 5), r"\[\*, 4\]"),
        (WeightNormConv2d(3, 8, 3), torch.randn(2, 4, 8, 8), r"\[N, 3, H, W\]"),
        (WeightNormConv2d(3, 8, 3), torch.randn(3, 8, 8), r"\[N, 3, H, W\]"),
        (WeightNormConvTranspose2d(3, 8, 5), torch.randn(2, 2, 4, 4), r"\[N, 3, H, W\]"),
    ],
)
def test_wrong_input_shapes_raise_clear_value_errors(layer, bad_input, message):
    with pytest.raises(ValueError, match=message):
        layer(bad_input)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"bias": False}, "bias=True or init_scale=None"),
        ({"init_scale": 0.0}, "init_scale"),
        ({"init_std": -1.0}, "init_std"),
    ],
)
def test_bad_hyperparameters_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        WeightNormLinear(4, 3, **kwargs)


def test_initial_values_follow_the_reference():
    torch.manual_seed(0)
    layer = WeightNormLinear(1000, 500, init_std=0.1)
    assert torch.equal(layer.weight_g, torch.ones(500))
    assert torch.equal(layer.bias.detach(), torch.zeros(500))
    assert abs(layer.weight_v.std().item() - 0.1) < 0.002
    glorot = WeightNormLinear(500, 784, init_std=None)
    bound = (6 / (500 + 784)) ** 0.5  # Glorot-uniform: U(-sqrt(6/(in+out)), +sqrt(6/(in+out)))
    assert glorot.weight_v.abs().max() <= bound
    assert glorot.weight_v.abs().max() > 0.99 * bound


def test_extra_repr_explains_the_layer():
    text = repr(WeightNormConvTranspose2d(128, 3, 5, stride=2, padding=2, output_padding=1, trainable_scale=True))
    for expected in ("128, 3", "kernel_size=5", "stride=2", "output_padding=1", "trainable_scale=True", "init_scale=1.0"):
        assert expected in text
    assert "v_init=glorot_uniform" in repr(WeightNormLinear(2, 2, init_std=None))


def test_output_padding_is_for_transposed_convolutions_only():
    with pytest.raises(ValueError, match="transposed convolutions only"):
        WeightNormConv2d(3, 4, 3, output_padding=1)


@pytest.mark.parametrize(
    "layer",
    [WeightNormLinear(6, 4), WeightNormConv2d(3, 4, 3), WeightNormConvTranspose2d(3, 4, 3)],
    ids=lambda layer: type(layer).__name__,
)
def test_each_layer_normalises_over_every_dimension_of_v_but_its_units(layer):
    """The class's ``norm_dims`` are all of ``v``'s dimensions but the one of size ``out`` (4 here)."""
    units = [d for d, size in enumerate(layer.weight_v.shape) if size == 4]
    assert len(units) == 1
    assert layer.norm_dims == tuple(d for d in range(layer.weight_v.dim()) if d != units[0])
    assert layer.scale().shape == (4,)
