"""Minibatch discrimination (Section 3.2) against a direct double loop and limiting cases."""

from __future__ import annotations

import math

import pytest
import torch

from improved_gan.errors import ConfigError
from improved_gan.techniques import MinibatchDiscrimination, minibatch_features
from improved_gan.techniques import minibatch_discrimination
from improved_gan.techniques.minibatch_discrimination import _PairwiseL1


def _loop_features(x: torch.Tensor, T: torch.Tensor, reference: torch.Tensor | None = None) -> torch.Tensor:
    """The paper's definition, one pair and one kernel at a time, in plain Python floats."""
    others = x if reference is None else reference
    n, num_kernels = x.size(0), T.size(1)
    out = torch.zeros(n, num_kernels, dtype=torch.float64)
    for i in range(n):
        m_i = torch.einsum("a,abc->bc", x[i], T)
        for j in range(others.size(0)):
            if reference is None and j == i:
                continue
            m_j = torch.einsum("a,abc->bc", others[j], T)
            for b in range(num_kernels):
                out[i, b] += math.exp(-sum(abs(float(u - v)) for u, v in zip(m_i[b], m_j[b])))
    return out


def _layer(in_features=6, num_kernels=4, kernel_dim=3, **kwargs) -> MinibatchDiscrimination:
    layer = MinibatchDiscrimination(in_features, num_kernels, kernel_dim, dtype=torch.float64, **kwargs)
    with torch.no_grad():
        layer.weight.normal_(0, 0.3)  # spread wide enough that exp(-d) is far from 0 and 1
        if layer.bias is not None:
            layer.bias.normal_()
    return layer


def test_within_batch_equals_double_loop():
    layer = _layer()
    x = torch.randn(5, 6, dtype=torch.float64)
    out = layer(x)
    expected = _loop_features(x, layer.weight.detach()) + layer.bias.detach()
    torch.testing.assert_close(out[:, :6], x)  # the input passed through: exact
    # float64: each feature sums 4 exp(-d) <= 1 of L1 distances over 3 products of 6 terms, in another order
    # than the loop's (~10 eps, 2e-15); 1e-12 still sees one pair too many or a missed exclusion (>= 1e-3)
    torch.testing.assert_close(out[:, 6:].detach(), expected, rtol=1e-12, atol=1e-12)


def test_against_separate_batch_equals_double_loop():
    layer = _layer(bias=False)
    x, reference = torch.randn(3, 6, dtype=torch.float64), torch.randn(7, 6, dtype=torch.float64)
    out = layer(x, reference)
    # float64 defaults (1e-7): the same sums as above against 7 reference rows (~1e-15); a missed row errs >= 1e-3
    torch.testing.assert_close(out[:, 6:].detach(), _loop_features(x, layer.weight.detach(), reference))


def test_identical_inputs_give_n_minus_one_per_kernel():
    layer = _layer(bias=False)
    x = torch.randn(1, 6, dtype=torch.float64).expand(7, 6)  # d = 0 exactly: 6 terms exp(0) = 1 (defaults)
    torch.testing.assert_close(layer(x)[:, 6:], torch.full((7, 4), 6.0, dtype=torch.float64))


def test_far_apart_inputs_give_zero():
    layer = _layer(bias=False)
    x = 1e4 * torch.randn(6, 6, dtype=torch.float64)  # distances ~1e3: exp(-d) underflows to exactly 0
    assert layer(x)[:, 6:].abs().max().item() < 1e-30


def test_permuting_the_batch_permutes_the_output():
    layer = _layer()
    x = torch.randn(8, 6, dtype=torch.float64)
    permutation = torch.randperm(8)  # float64 defaults (1e-7): the same sums in another row order (~1e-15)
    torch.testing.assert_close(layer(x[permutation]), layer(x)[permutation])


def test_gradcheck_float64():
    layer = _layer(num_kernels=3, kernel_dim=2)
    x = torch.randn(4, 6, dtype=torch.float64, requires_grad=True)
    reference = torch.randn(3, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda inp, T, b: torch.cat([inp, minibatch_features(torch.einsum("na,abc->nbc", inp, T)) + b], 1),
        (x, layer.weight, layer.bias),
    )
    assert torch.autograd.gradcheck(lambda inp, ref: layer(inp, ref), (x, reference))


@pytest.mark.parametrize("chunk_elements", [1, 2**24], ids=["one-coordinate-blocks", "one-block"])
def test_memory_light_function_matches_cdist_to_second_order(monkeypatch, chunk_elements):
    """The function used on CUDA against torch.cdist: value, gradients, second order."""
    monkeypatch.setattr(minibatch_discrimination, "_CHUNK_ELEMENTS", chunk_elements)
    x = torch.randn(3, 5, 4, dtype=torch.float64, requires_grad=True)
    y = torch.randn(3, 6, 4, dtype=torch.float64, requires_grad=True)
    grad = torch.randn(3, 5, 6, dtype=torch.float64)
    torch.testing.assert_close(_PairwiseL1.apply(x, y), torch.cdist(x, y, p=1))
    ours = torch.autograd.grad(_PairwiseL1.apply(x, y), (x, y), grad)
    reference = torch.autograd.grad(torch.cdist(x, y, p=1), (x, y), grad)
    # float64 defaults (1e-7): L1 distances of 4 coordinates and their sign-weighted sums over <= 6 rows,
    # in another order than cdist's (~1e-15); a wrong sign or a missed block errs by O(1)
    for a, b in zip(ours, reference):
        torch.testing.assert_close(a, b)
    assert torch.autograd.gradcheck(_PairwiseL1.apply, (x, y))
    assert torch.autograd.gradgradcheck(_PairwiseL1.apply, (x, y))


def test_exclude_self_with_reference_is_the_within_batch_result():
    m = torch.randn(5, 3, 2, dtype=torch.float64)  # float64 defaults (1e-7): ~eps apart, an off-by-one is 1
    torch.testing.assert_close(minibatch_features(m, m, exclude_self=True), minibatch_features(m))
    torch.testing.assert_close(minibatch_features(m, exclude_self=False), minibatch_features(m) + 1)


def test_isolated_sample_gets_no_gradient():
    far = torch.randn(4, 2, 3, dtype=torch.float64)
    far[0] += 1e3  # sample 0 is far from every other sample: no pair (0, j) contributes to o_0
    far.requires_grad_(True)
    minibatch_features(far)[0].sum().backward()  # exp(-d) of d ~ 1e3 underflows to 0: so does its gradient
    assert far.grad.abs().max().item() < 1e-30


def test_shape_dtype_device_repr_and_reset():
    layer = MinibatchDiscrimination(10, num_kernels=7, kernel_dim=2, device="cpu", dtype=torch.float64)
    assert layer.weight.shape == (10, 7, 2) and layer.weight.dtype == torch.float64
    assert layer.out_features == 17 and layer(torch.randn(3, 10, dtype=torch.float64)).shape == (3, 17)
    assert repr(layer) == (
        "MinibatchDiscrimination(in_features=10, num_kernels=7, kernel_dim=2, bias=True, init_std=0.05, "
        "weight_norm=False)"
    )
    with torch.no_grad():
        layer.bias.fill_(3.0)
    layer.reset_parameters()
    assert layer.bias.abs().max().item() == 0.0
    big = MinibatchDiscrimination(200, num_kernels=100, kernel_dim=5)
    # a sampling bound: the std of 1e5 normal draws is within 1/sqrt(2e5) = 0.22% of 0.05, rel=0.02 is 9 sd
    assert big.weight.std().item() == pytest.approx(0.05, rel=0.02)
    assert MinibatchDiscrimination(3, bias=False).bias is None


def test_bad_arguments():
    layer = MinibatchDiscrimination(4, num_kernels=2, kernel_dim=2)
    with pytest.raises(ValueError, match=r"expected x of shape \[N, 4\] \(got \(3, 5\)\)"):
        layer(torch.zeros(3, 5))
    with pytest.raises(ValueError, match=r"expected reference of shape \[N, 4\] \(got \(3, 2, 2\)\)"):
        layer(torch.zeros(3, 4), torch.zeros(3, 2, 2))
    with pytest.raises(ValueError, match=r"expected m of shape \[N, B, C\]"):
        minibatch_features(torch.zeros(3, 4))
    with pytest.raises(ValueError, match="same number of rows"):
        minibatch_features(torch.zeros(3, 2, 2), torch.zeros(4, 2, 2), exclude_self=True)
    with pytest.raises(ValueError, match=r"expected reference of shape \[M, 2, 2\]"):
        minibatch_features(torch.zeros(3, 2, 2), torch.zeros(3, 2, 3))
    with pytest.raises(ConfigError, match="num_kernels must be a positive integer"):
        MinibatchDiscrimination(4, num_kernels=0)
    with pytest.raises(ConfigError, match="init_std"):
        MinibatchDiscrimination(4, init_std=-1.0)
