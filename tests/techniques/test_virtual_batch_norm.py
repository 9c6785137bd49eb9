"""Virtual batch normalization (Section 3.5) against NumPy float64 and plain batch norm."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from improved_gan.errors import ConfigError
from improved_gan.techniques import VirtualBatchNorm, WithReferenceBatch, virtual_batch_norm

EPS = 1e-5


def _numpy_vbn(x: np.ndarray, reference: np.ndarray, gamma: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Each example normalised with the pooled values of (reference batch, itself), per channel."""
    out = np.empty_like(x)
    for i in range(len(x)):
        for c in range(x.shape[1]):
            pooled = np.concatenate([reference[:, c].ravel(), x[i, c].ravel()])
            mean, var = pooled.mean(), pooled.var()  # biased, as in batch norm
            out[i, c] = gamma[c] * (x[i, c] - mean) / np.sqrt(var + EPS) + beta[c]
    return out


def _vbn(num_features: int, reference_size: int) -> VirtualBatchNorm:
    layer = VirtualBatchNorm(num_features, reference_size=reference_size, dtype=torch.float64)
    with torch.no_grad():
        layer.bias.normal_()
    return layer


@pytest.mark.parametrize("shape", [(6,), (3, 4, 5)], ids=["dense", "conv"])
def test_examples_equal_the_pooled_formula_by_hand(shape):
    layer = _vbn(shape[0], reference_size=7)
    batch = 2.0 + 3.0 * torch.randn(7 + 4, *shape, dtype=torch.float64)
    out = layer(batch).detach().numpy()
    gamma, beta = layer.weight.detach().numpy(), layer.bias.detach().numpy()
    expected = _numpy_vbn(batch[7:].numpy(), batch[:7].numpy(), gamma, beta)
    # float64 against NumPy's pooled mean and variance: a few ulp (1e-16) times the variance form's
    # cancellation ((mean^2 + var) / var ~ 1.4 here); a wrong pooling weight errs by > 1e-2
    np.testing.assert_allclose(out[7:], expected, rtol=1e-10, atol=1e-12)


def test_mixing_weights_are_one_over_r_plus_one_in_mean_and_mean_of_squares():
    """The authors' form: mix mean and mean-of-squares 1/(R+1) : R/(R+1), then var = E[x^2] - E[x]^2."""
    reference, x = torch.randn(5, 3, 4, 4, dtype=torch.float64), torch.randn(2, 3, 4, 4, dtype=torch.float64)
    new, old = 1 / 6, 5 / 6
    mean = new * x.mean((2, 3), keepdim=True) + old * reference.mean((0, 2, 3), keepdim=True)
    mean_sq = new * x.square().mean((2, 3), keepdim=True) + old * reference.square().mean((0, 2, 3), keepdim=True)
    expected = (x - mean) / torch.sqrt(EPS + mean_sq - mean.square())
    torch.testing.assert_close(virtual_batch_norm(x, reference, eps=EPS), expected)


@pytest.mark.parametrize("shape", [(6,), (3, 4, 5)], ids=["dense", "conv"])
def test_reference_rows_equal_plain_batch_norm(shape):
    layer = _vbn(shape[0], reference_size=8)
    batch = torch.randn(8 + 3, *shape, dtype=torch.float64)
    expected = F.batch_norm(batch[:8], None, None, layer.weight, layer.bias, training=True, eps=EPS)
    torch.testing.assert_close(layer(batch)[:8], expected)


@pytest.mark.parametrize("shape", [(6,), (3, 4, 5)], ids=["dense", "conv"])
def test_an_example_does_not_depend_on_the_rest_of_its_batch(shape):
    layer = _vbn(shape[0], reference_size=5)
    reference, example = torch.randn(5, *shape, dtype=torch.float64), torch.randn(1, *shape, dtype=torch.float64)
    alone = layer(torch.cat([reference, example]))[5:]
    for others in (torch.randn(9, *shape, dtype=torch.float64), 100 * torch.ones(2, *shape, dtype=torch.float64)):
        crowded = layer(torch.cat([reference, others, example]))[-1:]
        # exact: one machine, and the example's statistics reduce the same shapes (its own values and
        # the reference's) whatever else is in the batch, so the same kernels sum in the same order
        torch.testing.assert_close(crowded, alone, rtol=0, atol=0)


def test_gradients_reach_the_parameters_that_made_the_reference_batch():
    torch.manual_seed(3)
    producer = nn.Linear(4, 6, dtype=torch.float64)
    vbn = VirtualBatchNorm(6, reference_size=5, dtype=torch.float64)
    z_ref, z = torch.randn(5, 4, dtype=torch.float64), torch.randn(3, 4, dtype=torch.float64)

    def loss_through_examples(weight: torch.Tensor) -> torch.Tensor:
        h = F.linear(torch.cat([z_ref, z]), weight, producer.bias)
        return vbn(h)[5:].sin().sum()  # the reference rows' own outputs are not in the loss

    weight = producer.weight.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(loss_through_examples(weight), weight)
    assert torch.autograd.gradcheck(loss_through_examples, (weight,))
    detached_reference = F.linear(z_ref, weight).detach()  # what a stop-gradient on the reference would give
    h = F.linear(z, weight, producer.bias)
    stopped = virtual_batch_norm(h, detached_reference + producer.bias, weight=vbn.weight, bias=vbn.bias)
    (grad_stopped,) = torch.autograd.grad(stopped.sin().sum(), weight)
    assert not torch.allclose(grad, grad_stopped)  # the reference path carries gradient


def test_stable_where_the_mean_of_squares_form_cancels():
    """float32, channel mean 1e4 and spread 1: E[x^2] - E[x]^2 loses every digit; the pooled form does not."""
    reference = 1e4 + torch.randn(64, 8)
    x = 1e4 + torch.randn(4, 8)
    expected = virtual_batch_norm(x.double(), reference.double())
    # atol=5e-3: float32 stores x near 1e4 to half an ulp (4.9e-4) and the output is x - mean over a
    # spread of 1, so ~10 such roundings; the naive form below errs by more than 0.1
    torch.testing.assert_close(virtual_batch_norm(x, reference), expected.float(), rtol=0, atol=5e-3)
    mean = (x + 64 * reference.mean(0)) / 65
    mean_sq = (x.square() + 64 * reference.square().mean(0)) / 65
    naive = (x - mean) / torch.sqrt(EPS + mean_sq - mean.square())
    assert not torch.allclose(naive, expected.float(), atol=0.1, equal_nan=False)


def test_with_reference_batch_prepends_and_drops():
    net = nn.Sequential(nn.Linear(4, 6), VirtualBatchNorm(6, reference_size=3), nn.Tanh())
    z_ref = torch.randn(3, 4)
    generator = WithReferenceBatch(net, z_ref)
    z = torch.randn(5, 4)
    torch.testing.assert_close(generator(z), net(torch.cat([z_ref, z]))[3:])
    torch.testing.assert_close(generator(z[2:3]), generator(z)[2:3])  # a sample is the same alone or in a batch
    assert "reference_input" in generator.state_dict() and generator.reference_size == 3
    z_ref.add_(1.0)
    assert not torch.equal(generator.reference_input, z_ref)  # copied, not aliased


def test_module_conventions():
    layer = VirtualBatchNorm(300, reference_size=16, eps=1e-3, device="cpu", dtype=torch.float64)
    assert layer.weight.dtype == torch.float64
    assert layer.weight.mean().item() == pytest.approx(1.0, abs=0.01)
    assert layer.weight.std().item() == pytest.approx(0.02, rel=0.2)
    assert layer.bias.abs().max().item() == 0.0
    with torch.no_grad():
        layer.bias.fill_(1.0)
    layer.reset_parameters()
    assert layer.bias.abs().max().item() == 0.0
    assert repr(layer) == "VirtualBatchNorm(300, reference_size=16, eps=0.001, affine=True)"
    plain = VirtualBatchNorm(3, reference_size=2, affine=False)
    assert plain.weight is None and list(plain.parameters()) == []
    assert plain(torch.randn(2, 3)).shape == (2, 3)  # reference rows only
    assert "reference_size=2" in repr(WithReferenceBatch(nn.Sequential(plain), torch.randn(2, 3)))


def test_bad_arguments():
    layer = VirtualBatchNorm(4, reference_size=3)
    with pytest.raises(ValueError, match=r"expected input of shape \[N, 4\] or \[N, 4, \*\] \(got \(5, 3\)\)"):
        layer(torch.zeros(5, 3))
    with pytest.raises(ValueError, match=r"at least reference_size=3 rows .* \(got 2\)"):
        layer(torch.zeros(2, 4))
    with pytest.raises(ValueError, match=r"expected reference of shape \[R, 4, 2\]"):
        virtual_batch_norm(torch.zeros(2, 4, 2), torch.zeros(3, 4, 3))
    with pytest.raises(ConfigError, match="reference_size must be a positive integer"):
        VirtualBatchNorm(4, reference_size=0)
    with pytest.raises(ConfigError, match="reference_size=3, but the reference input has 5 rows"):
        WithReferenceBatch(nn.Sequential(layer), torch.zeros(5, 4))
    with pytest.raises(ValueError, match=r"expected input of shape \[N, 4\] like the reference input"):
        WithReferenceBatch(nn.Sequential(layer), torch.zeros(3, 4))(torch.zeros(2, 5))
