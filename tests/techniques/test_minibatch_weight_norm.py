"""The authors' minibatch layer: weight-normalised T and its data-dependent initialisation.

Checked against definitions computed here independently: the column norms of T,
the nearest-neighbour distances by a double loop in NumPy float64, and the
minibatch features by the same loop as the plain layer's tests.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from improved_gan.layers import init_weight_norm
from improved_gan.models.mnist import MNISTDiscriminator
from improved_gan.techniques import MinibatchDiscrimination


def _layer(in_features=6, num_kernels=4, kernel_dim=3, **kwargs) -> MinibatchDiscrimination:
    return MinibatchDiscrimination(
        in_features, num_kernels, kernel_dim, weight_norm=True, dtype=torch.float64, **kwargs
    )


def _kernel_numpy(layer: MinibatchDiscrimination) -> np.ndarray:
    """T[:, b, c] = exp(s[b, c]) V[:, b, c] / ||V[:, b, c]||, column by column."""
    v, s = layer.weight.detach().numpy(), layer.log_scale.detach().numpy()
    t = np.empty_like(v)
    for b in range(v.shape[1]):
        for c in range(v.shape[2]):
            t[:, b, c] = np.exp(s[b, c]) * v[:, b, c] / np.sqrt(np.sum(v[:, b, c] ** 2))
    return t


def _features_numpy(x: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(o [N, B] without bias, nearest-neighbour L1 distance [N, B]) by a double loop."""
    m = np.einsum("na,abc->nbc", x, t)
    n, num_kernels = m.shape[:2]
    o, nearest = np.zeros((n, num_kernels)), np.full((n, num_kernels), np.inf)
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            d = np.abs(m[i] - m[j]).sum(axis=1)  # [B]
            o[i] += np.exp(-d)
            nearest[i] = np.minimum(nearest[i], d)
    return o, nearest


def test_kernel_columns_have_norm_exp_log_scale():
    layer = _layer()
    with torch.no_grad():
        layer.log_scale.normal_()
    # float64: a norm of 6 squares and one exp, in another order than the loop (~4 eps); rtol 1e-12 and the
    # defaults (1e-7) below see an unnormalised column or a missing exp (O(1))
    np.testing.assert_allclose(layer.kernel().detach().numpy(), _kernel_numpy(layer), rtol=1e-12)
    norms = layer.kernel().detach().square().sum(0).sqrt()
    torch.testing.assert_close(norms, layer.log_scale.detach().exp())


def test_forward_equals_the_definition_with_the_normalised_kernel():
    layer = _layer()
    with torch.no_grad():
        layer.log_scale.normal_(0, 0.3)
        layer.bias.normal_()
    x = torch.randn(5, 6, dtype=torch.float64)
    o, _ = _features_numpy(x.numpy(), _kernel_numpy(layer))
    # float64: 4 exp(-d) <= 1 of L1 distances over 3 products of 6 terms (~10 eps); a missed pair errs >= 1e-3
    np.testing.assert_allclose(layer(x)[:, 6:].detach().numpy(), o + layer.bias.detach().numpy(), rtol=1e-12)


def test_data_dependent_init_makes_mean_nearest_distance_two_and_centres_o():
    layer = _layer(in_features=8, num_kernels=5, kernel_dim=4)
    x = torch.randn(40, 8, dtype=torch.float64)
    returned = layer.data_dependent_init(x)
    o, nearest = _features_numpy(x.numpy(), _kernel_numpy(layer))
    # rtol 1e-10: the init scales by 2 / (float64 mean of 40 L1 distances), the check re-measures them with
    # the scaled kernel: ~40 eps apart (1e-14); the bias is minus a float64 mean of 40 sums of 39 exp terms
    # (~100 eps); another target (1 or sqrt 2) or an uncentred o errs by O(1)
    np.testing.assert_allclose(nearest.mean(axis=0), np.full(5, 2.0), rtol=1e-10)  # per kernel
    np.testing.assert_allclose(layer.bias.detach().numpy(), -o.mean(axis=0), rtol=1e-10)
    out = layer(x).detach()
    torch.testing.assert_close(returned, out)
    # atol 1e-12: a float64 mean of 40 centred features |o| < 2 is ~40 eps of 2 from zero (measured 2e-16 on
    # AVX2 and ATEN_CPU_CAPABILITY=default); the uncentred mean is O(1)
    torch.testing.assert_close(out[:, 8:].mean(0), torch.zeros(5, dtype=torch.float64), atol=1e-12, rtol=0)
    # the whole column set of a kernel is scaled by one factor: the directions are untouched
    assert torch.allclose(layer.log_scale[:, :1].expand(-1, 4), layer.log_scale)


def test_init_weight_norm_initialises_the_layer_inside_a_model():
    torch.manual_seed(0)
    discriminator = MNISTDiscriminator(minibatch_kernels=20, minibatch_kernel_dim=3)
    names = init_weight_norm(discriminator.eval(), torch.rand(64, 1, 28, 28))
    assert "head.0" in names and names.index("head.0") == len(names) - 2  # before the output layer
    layer = discriminator.head[0]
    assert layer.log_scale.abs().sum() > 0 and not torch.equal(layer.bias, torch.full_like(layer.bias, -1.0))


def test_gradcheck_float64():
    layer = _layer(num_kernels=3, kernel_dim=2)
    with torch.no_grad():
        layer.log_scale.normal_(0, 0.2)
    x = torch.randn(4, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda inp: layer(inp), (x,))
    params = (layer.weight, layer.log_scale, layer.bias)
    assert all(p.requires_grad for p in params)
    loss = layer(x).sum()
    grads = torch.autograd.grad(loss, params)
    assert all(g.abs().sum() > 0 for g in grads)


def test_defaults_repr_and_errors():
    layer = MinibatchDiscrimination(10, 7, 2, weight_norm=True)
    assert layer.log_scale.shape == (7, 2) and layer.initialises_from_input
    assert torch.equal(layer.bias, torch.full((7,), -1.0)) and torch.equal(layer.log_scale, torch.zeros(7, 2))
    assert "weight_norm=True" in repr(layer)
    plain = MinibatchDiscrimination(10, 7, 2)
    assert plain.log_scale is None and not plain.initialises_from_input
    with pytest.raises(ValueError, match="weight_norm=True"):
        plain.data_dependent_init(torch.randn(5, 10))
    with pytest.raises(ValueError, match="distinct feature rows"):
        layer.data_dependent_init(torch.ones(5, 10))
    with pytest.raises(ValueError, match=r"features \[N >= 2, 10\]"):
        layer.data_dependent_init(torch.randn(1, 10))
