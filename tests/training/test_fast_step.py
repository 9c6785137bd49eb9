"""The fast training step computes what the reference ReferenceStep computes (issue 8).

- the C kernels equal their PyTorch statements (ops.py), and the noise is standard normal;
- fp32: one iteration's losses and gradients equal the reference's (noise off, and with the
  same noise on); over several iterations the parameters stay together;
- bf16: gradients within a documented tolerance of the fp32 reference;
- Adam: FusedAdam's update equals torch.optim.Adam's; state dicts move between the two steps;
- exact resumption; build_step declines what it does not implement.
"""

from __future__ import annotations

import copy
import dataclasses
import io
import math

import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn

from improved_gan import semi_supervised as ss
from improved_gan.layers import GaussianNoise
from improved_gan.models.mnist import MNISTDiscriminator, MNISTGenerator
from improved_gan.experiments.presets import get_preset
from improved_gan.training.build import initialise_models
from improved_gan.training.steps.fast import FastStep, build_step
from improved_gan.techniques import feature_matching_loss
from improved_gan.training.steps.fast.adam import FusedAdamUpdate, Gradient, UnsupportedOptimizer
from improved_gan.training.steps.fast.losses import discriminator_loss_and_gradient, feature_matching_loss_and_gradient
from improved_gan.training.steps.fast.native import native_kernels_available
from improved_gan.training.steps.fast.networks import discriminator_layers, generator_layers
from improved_gan.training.steps.fast.ops import RELU, SIGMOID, NativeOps, TorchOps
from improved_gan.training.optim import AuthorsAdam
from improved_gan.training.steps.reference import ReferenceStep

native = pytest.mark.skipif(not native_kernels_available(), reason="no C compiler for the native kernels")
BF16 = torch.bfloat16


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# -- networks and data -------------------------------------------------------------------------

CONFIG = get_preset("mnist-fm")
BATCH = 40


def make_models(*, noise: bool = True, seed: int = 0) -> tuple[nn.Module, nn.Module, torch.Tensor, torch.Tensor]:
    """mnist-fm's networks, initialised from data, and a pool of 'images' and labels."""
    torch.manual_seed(seed)
    generator = MNISTGenerator()
    discriminator = MNISTDiscriminator(**({} if noise else {"input_noise": 0.0, "hidden_noise": 0.0}))
    x = torch.rand(600, 1, 28, 28)
    y = torch.randint(0, 10, (600,))
    initialise_models(generator, discriminator, x, CONFIG)
    return generator, discriminator, x, y


def batches(x: torch.Tensor, y: torch.Tensor, i: int):
    a = (i * 3 * BATCH) % (len(x) - 3 * BATCH)
    return x[a:a + BATCH], x[a + BATCH:a + 2 * BATCH], y[a + BATCH:a + 2 * BATCH], x[a + 2 * BATCH:a + 3 * BATCH]


def iteration(step, x, y, i: int, seed: int) -> dict[str, float]:
    x_unl, x_lab, y_lab, x_fm = batches(x, y, i)
    torch.manual_seed(seed)
    stats_ = step.discriminator_step(x_unl, x_lab, y_lab)
    stats_.update(step.generator_step(x_fm))
    return {k: float(v) for k, v in stats_.items()}


def fast_step(generator, discriminator, *, dtype=torch.float32, ops=None) -> FastStep:
    step = FastStep(
        CONFIG, generator, discriminator,
        generator_layers=generator_layers(generator), discriminator_layers=discriminator_layers(discriminator),
        dtype=dtype, ops=ops or TorchOps(),
    )
    return step


def relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.detach().double(), b.detach().double()
    return float((a - b).norm() / b.norm())


ALL_OPS = [pytest.param(TorchOps, id="torch-ops"), pytest.param(NativeOps, id="native-ops", marks=native)]


# -- the kernels --------------------------------------------------------------------------------
# Tolerances: the C kernels (-march=native, no FP contraction) and ATen's vectorised kernels (chosen by
# the CPU) compute the same element-wise formulas, so fp32 results differ by a few ulp (rtol 1e-6 to
# 2e-5, the looser for batch norm's sums over rows); bf16 outputs by one bf16 rounding (rtol 1e-2,
# spacing 2^-8 = 4e-3). A wrong formula (a missed scale, bias or noise term) errs by O(1).

@native
@pytest.mark.parametrize("dtype", [torch.float32, BF16])
def test_native_forward_kernels_equal_their_torch_statements(dtype):
    torch.manual_seed(1)
    native_ops, torch_ops = NativeOps(), TorchOps()
    p, scale, bias = torch.randn(37, 301).to(dtype), torch.rand(301) + 0.5, torch.randn(301)
    h_n, a_n = native_ops.scale_bias_relu_noise(p, scale, bias, 0.0, dtype, 0, 0)
    h_t, a_t = torch_ops.scale_bias_relu_noise(p, scale, bias, 0.0, dtype, 0, 0)
    torch.testing.assert_close(h_n, h_t, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(a_n.float(), a_t.float(), rtol=1e-2 if dtype == BF16 else 1e-6, atol=1e-6)
    assert native_ops.scale_bias_relu_noise(p, scale, bias, 0.5, None, 7, 1)[1] is None
    x = torch.rand(37, 301)
    torch.testing.assert_close(native_ops.input_noise(x, 0.0, dtype, 0, 0), x.to(dtype))
    q = torch.randn(50, 301).to(dtype) * 3 + 1
    for got, want in zip(native_ops.batch_norm_softplus(q, bias, 1e-6, dtype), torch_ops.batch_norm_softplus(q, bias, 1e-6, dtype)):
        torch.testing.assert_close(got.float(), want.float(), rtol=1e-2 if got.dtype == BF16 else 2e-5, atol=2e-5)


@native
@pytest.mark.parametrize("dtype", [torch.float32, BF16])
@pytest.mark.parametrize("activation", [None, RELU, SIGMOID])
def test_native_backward_kernels_equal_their_torch_statements(dtype, activation):
    torch.manual_seed(2)
    native_ops, torch_ops = NativeOps(), TorchOps()
    grad, p, scale = torch.randn(33, 300).to(dtype), torch.randn(33, 300).to(dtype), torch.rand(300) + 0.5
    out = torch.rand(33, 300) - (0.3 if activation == RELU else 0.0)
    for with_sums in (True, False):
        got = native_ops.dense_backward(grad, out, activation, p if with_sums else None, scale, dtype)
        want = torch_ops.dense_backward(grad, out, activation, p if with_sums else None, scale, dtype)
        for g, w in zip(got, want):
            if w is None:
                assert g is None
            else:
                torch.testing.assert_close(g.float(), w.float(), rtol=1e-2 if g.dtype == BF16 else 1e-5, atol=1e-5)
    slope, q_hat, inv_std = torch.rand(33, 300), torch.randn(33, 300), torch.rand(300) + 0.1
    got = native_ops.batch_norm_softplus_backward(grad, slope, q_hat, inv_std, dtype)
    want = torch_ops.batch_norm_softplus_backward(grad, slope, q_hat, inv_std, dtype)
    for g, w in zip(got, want):
        torch.testing.assert_close(g.float(), w.float(), rtol=1e-2 if g.dtype == BF16 else 1e-5, atol=1e-5)


@native
def test_native_softplus_and_sigmoid_at_extreme_inputs():
    """The kernel's own exp and log1p: exact enough from -100 to 100 (torch's threshold at 20 included)."""
    bias = torch.linspace(-100, 100, 4001)
    q = torch.tensor([[1.0], [-1.0]]).expand(2, len(bias)).contiguous()  # normalised to +-1
    q_hat, slope, inv_std, u = NativeOps().batch_norm_softplus(q, bias, 1e-6, torch.float32)
    y = (q_hat + bias).double()  # softplus' input, -101 .. 101
    torch.testing.assert_close(u.double(), torch.nn.functional.softplus(y), rtol=5e-7, atol=1e-37)
    torch.testing.assert_close(slope.double(), torch.sigmoid(y), rtol=5e-7, atol=1e-37)


_PHILOX_M, _PHILOX_W = (0xD2511F53, 0xCD9E8D57), (0x9E3779B9, 0xBB67AE85)


def philox4x32_10(counter: np.ndarray, key: tuple[int, int]) -> np.ndarray:
    """Philox-4x32-10 (Salmon et al., SC 2011) in NumPy: ``counter [n, 4]`` uint64 words -> ``[n, 4]``."""
    c = [counter[:, i].astype(np.uint64) for i in range(4)]
    k0, k1 = np.uint64(key[0]), np.uint64(key[1])
    mask, shift = np.uint64(0xFFFFFFFF), np.uint64(32)
    for _ in range(10):
        p0, p1 = np.uint64(_PHILOX_M[0]) * c[0], np.uint64(_PHILOX_M[1]) * c[2]
        c = [((p1 >> shift) ^ c[1] ^ k0) & mask, p1 & mask, ((p0 >> shift) ^ c[3] ^ k1) & mask, p0 & mask]
        k0, k1 = (k0 + np.uint64(_PHILOX_W[0])) & mask, (k1 + np.uint64(_PHILOX_W[1])) & mask
    return np.stack(c, axis=1)


def test_reference_philox_reproduces_the_published_known_answers():
    """Random123's known-answer vectors for Philox-4x32-10 (counter, key -> output)."""
    cases = [
        ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
        ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
        ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
         (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
    ]
    for counter, key, expected in cases:
        assert tuple(int(w) for w in philox4x32_10(np.array([counter], dtype=np.uint64), key)[0]) == expected


@native
def test_native_noise_is_philox_box_muller():
    """Element e of a draw: block 16 (e // 64) + e % 16 of stream s under the key, word pair
    (e % 64) // 32, cosine or sine by (e % 32) // 16; computed here in float64 from NumPy's Philox."""
    key, stream, n = 0x0123456789ABCDEF, 5, 1000
    got = NativeOps().input_noise(torch.zeros(n), 1.0, torch.float32, key, stream).double().numpy()
    e = np.arange(n)
    block = 16 * (e // 64) + e % 16
    counter = np.stack([block & 0xFFFFFFFF, block >> 32, np.full(n, stream), np.zeros(n, dtype=np.int64)], axis=1)
    words = philox4x32_10(counter.astype(np.uint64), (key & 0xFFFFFFFF, key >> 32)).astype(np.float64)
    pair = (e % 64) // 32
    radius = np.sqrt(-2 * np.log((words[e, 2 * pair] + 0.5) / 2**32))
    angle = 2 * np.pi * words[e, 2 * pair + 1] / 2**32
    want = radius * np.where((e % 32) // 16 == 0, np.cos(angle), np.sin(angle))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=5e-6)  # float32 arithmetic


@native
def test_native_noise_is_standard_normal_and_independent():
    ops = NativeOps()
    n = 1 << 20
    z = ops.input_noise(torch.zeros(n), 1.0, torch.float32, key=12345, stream=3).double().numpy()
    assert abs(z.mean()) < 5 / math.sqrt(n)
    assert abs(z.std() - 1) < 5 / math.sqrt(2 * n)
    assert stats.kstest(z, "norm").pvalue > 1e-3
    assert abs(stats.skew(z)) < 0.02 and abs(stats.kurtosis(z)) < 0.04
    # neighbours (same chunk layout positions), other streams and other keys are uncorrelated
    other_stream = ops.input_noise(torch.zeros(n), 1.0, torch.float32, key=12345, stream=4).double().numpy()
    other_key = ops.input_noise(torch.zeros(n), 1.0, torch.float32, key=12346, stream=3).double().numpy()
    for lag in (1, 16, 64):
        assert abs(np.corrcoef(z[:-lag], z[lag:])[0, 1]) < 5 / math.sqrt(n)
    assert abs(np.corrcoef(z, other_stream)[0, 1]) < 5 / math.sqrt(n)
    assert abs(np.corrcoef(z, other_key)[0, 1]) < 5 / math.sqrt(n)
    # the cos and sin of one angle are uncorrelated too, and so are their squares
    pairs = z.reshape(-1, 4, 16)
    assert abs(np.corrcoef(pairs[:, 0].ravel() ** 2, pairs[:, 1].ravel() ** 2)[0, 1]) < 5 / math.sqrt(n / 4)


@native
def test_native_noise_depends_on_key_and_element_only():
    ops = NativeOps()
    x = torch.zeros(100_003)
    first = ops.input_noise(x, 0.5, torch.float32, key=99, stream=1)
    torch.set_num_threads(2)
    again = ops.input_noise(x, 0.5, torch.float32, key=99, stream=1)
    torch.testing.assert_close(first, again, rtol=0, atol=0)
    shorter = ops.input_noise(x[:5000], 0.5, torch.float32, key=99, stream=1)
    torch.testing.assert_close(first[:5000], shorter, rtol=0, atol=0)
    h, a = ops.scale_bias_relu_noise(torch.ones(7, 5000), torch.ones(5000), torch.zeros(5000), 0.5, torch.float32, 99, 1)
    torch.testing.assert_close(a - h, first[:35000].view(7, 5000), rtol=0, atol=1e-6)


# -- the closed-form losses ---------------------------------------------------------------------

@pytest.mark.parametrize("labeled", [True, False], ids=["semi-supervised", "gan"])
@pytest.mark.parametrize(("real_target", "weight"), [(1.0, 1.0), (0.9, 0.5)])
def test_discriminator_loss_gradient_equals_autograd_of_the_reference_losses(labeled, real_target, weight):
    torch.manual_seed(0)
    sizes = [7, 9, 11] if labeled else [9, 11]
    logits = (torch.randn(sum(sizes), 10, dtype=torch.float64) * 4).requires_grad_()
    labels = torch.randint(0, 10, (7,)) if labeled else None
    parts = logits.split(sizes)
    unsup = ss.unsupervised_loss(parts[-2], parts[-1], real_target=real_target)
    loss = weight * unsup + (ss.supervised_loss(parts[0], labels) if labeled else 0)
    (want,) = torch.autograd.grad(loss, logits)
    stats_, got = discriminator_loss_and_gradient(
        logits.detach(), sizes, labels, real_target=real_target, unsupervised_weight=weight
    )
    torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)
    assert float(stats_["loss_d"]) == pytest.approx(loss.item(), rel=1e-12)
    assert float(stats_["loss_unsup"]) == pytest.approx(unsup.item(), rel=1e-12)
    assert ("loss_sup" in stats_) == labeled


@pytest.mark.parametrize("distance", ["l2", "l1"])
def test_feature_matching_gradient_equals_autograd_of_the_reference_loss(distance):
    torch.manual_seed(0)
    real, generated = torch.rand(12, 30, dtype=torch.float64), torch.rand(8, 30, dtype=torch.float64).requires_grad_()
    loss = feature_matching_loss(real, generated, distance=distance)
    (want,) = torch.autograd.grad(loss, generated)
    got_loss, got = feature_matching_loss_and_gradient(real, generated.detach(), distance=distance)
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-15)
    assert float(got_loss) == pytest.approx(loss.item(), rel=1e-12)


# -- fp32: the reference's numbers ----------------------------------------------------------------

@pytest.mark.parametrize("ops", ALL_OPS)
def test_fp32_iteration_matches_reference_losses_and_gradients(ops):
    """Noise off: one D step and one G step give the reference's statistics and gradients."""
    generator, discriminator, x, y = make_models(noise=False)
    ref_nets, fast_nets = copy.deepcopy((generator, discriminator)), copy.deepcopy((generator, discriminator))
    reference, fast = ReferenceStep(CONFIG, *ref_nets), fast_step(*fast_nets, ops=ops())
    for optimiser in (reference.opt_d, reference.opt_g):
        optimiser.step = lambda: None  # keep the gradients, change nothing
    recorded: list[Gradient] = []
    fast.update_d.step = fast.update_g.step = lambda gradients, **_: recorded.extend(gradients)
    want, got = iteration(reference, x, y, 0, seed=5), iteration(fast, x, y, 0, seed=5)
    assert got.keys() == want.keys()
    for key in want:  # float32 losses of one step by two code paths: rounding, ~1e-7, a few times over
        assert got[key] == pytest.approx(want[key], rel=1e-5, abs=1e-6), key
    named = {id(p): name for net, prefix in zip(fast_nets, "GD") for name, p in net.named_parameters(prefix=prefix)}
    reference_grads = {
        name: p.grad for net, prefix in zip(ref_nets, "GD") for name, p in net.named_parameters(prefix=prefix)
    }
    assert sorted(named[id(g.param)] for g in recorded) == sorted(reference_grads)
    for g in recorded:
        name = named[id(g.param)]
        assert relative_error(g.dense(), reference_grads[name]) < 2e-5, name


class _TapeNoise(nn.Module):
    """Replays recorded noise instead of drawing it (the reference's GaussianNoise, fed by a tape)."""

    def __init__(self, std: float, tape: list[torch.Tensor]) -> None:
        super().__init__()
        self.std, self.tape = std, tape

    def forward(self, x):
        return x + self.std * self.tape.pop(0).view_as(x)


def test_fp32_noisy_iteration_matches_reference_with_the_same_noise():
    """Noise on. D step: PyTorch ops draw exactly the reference's noise (same shapes, same order).
    G step: the fast step's draws (real and generated rows in one pass) replayed into the reference."""
    generator, discriminator, x, y = make_models(noise=True)
    ref_nets, fast_nets = copy.deepcopy((generator, discriminator)), copy.deepcopy((generator, discriminator))
    draws: list[torch.Tensor] = []

    def recorder(shape, device):
        draws.append(torch.randn(shape, device=device))
        return draws[-1]

    reference, fast = ReferenceStep(CONFIG, *ref_nets), fast_step(*fast_nets, ops=TorchOps(normal=recorder))
    x_unl, x_lab, y_lab, x_fm = batches(x, y, 0)
    torch.manual_seed(3)
    want = {k: float(v) for k, v in reference.discriminator_step(x_unl, x_lab, y_lab).items()}
    torch.manual_seed(3)
    got = {k: float(v) for k, v in fast.discriminator_step(x_unl, x_lab, y_lab).items()}
    assert got == pytest.approx(want, rel=1e-5)
    ref_nets[1].load_state_dict(fast_nets[1].state_dict())  # Adam's first step amplifies rounding: align D
    for optimiser in (reference.opt_g, fast.opt_g):
        for group in optimiser.param_groups:
            group["eps"] = 1e-3  # and condition G's first step (see the next test)
    draws.clear()
    torch.manual_seed(4)
    got_g = float(fast.generator_step(x_fm)["loss_g"])
    # the reference reads the real batch, then the generated one; the head's noise is not used by the loss
    tape = [d[:BATCH] for d in draws] + [torch.zeros(BATCH, 250)] + [d[BATCH:] for d in draws] + [torch.zeros(BATCH, 250)]
    noise_modules = [(parent, name, m) for parent in ref_nets[1].modules() for name, m in parent.named_children()
                     if isinstance(m, GaussianNoise)]
    for parent, name, module in noise_modules:
        setattr(parent, name, _TapeNoise(module.std, tape))
    torch.manual_seed(4)
    want_g = float(reference.generator_step(x_fm)["loss_g"])
    assert got_g == pytest.approx(want_g, rel=1e-5)
    assert not tape
    for (name, p), q in zip(ref_nets[0].named_parameters(), fast_nets[0].parameters()):
        assert relative_error(q - generator.state_dict()[name], p - generator.state_dict()[name]) < 1e-3, name


@pytest.mark.parametrize("ops", ALL_OPS)
def test_fp32_updates_match_the_reference_over_iterations(ops):
    """Noise off, three iterations, each started from the same parameters (the reference's are set
    to the fast step's after each: training is chaotic, and float32 rounding differences of 1e-7
    grow to 1e-4 within two iterations even between two runs of the reference step). The losses,
    the updates of every parameter and of the EMA, and the optimisers' states agree. Adam's eps is
    raised to 1e-3: with 1e-8, its first steps divide gradients of ~1e-8 by themselves and turn
    float32 rounding into +-lr changes of those elements."""
    generator, discriminator, x, y = make_models(noise=False)
    ref_nets, fast_nets = copy.deepcopy((generator, discriminator)), copy.deepcopy((generator, discriminator))
    reference, fast = ReferenceStep(CONFIG, *ref_nets), fast_step(*fast_nets, ops=ops())
    for optimiser in (reference.opt_d, reference.opt_g, fast.opt_d, fast.opt_g):
        for group in optimiser.param_groups:
            group["eps"] = 1e-3
    for i in range(3):
        before = [p.detach().clone() for net in fast_nets for p in net.parameters()]
        averages = [a.detach().clone() for a in fast.ema.shadow]
        want, got = iteration(reference, x, y, i, seed=10 + i), iteration(fast, x, y, i, seed=10 + i)
        for key in want:
            assert got[key] == pytest.approx(want[key], rel=1e-5, abs=1e-6), (i, key)
        ref_params = [p.detach() for net in ref_nets for p in net.parameters()]
        fast_params = [p.detach() for net in fast_nets for p in net.parameters()]
        for start, p, q in zip(before, ref_params, fast_params):
            assert relative_error(q - start, p - start) < 1e-4, i
        for start, a, b in zip(averages, reference.ema.shadow, fast.ema.shadow):
            assert relative_error(b - start, a - start) < 1e-4, i
        for ref_net, fast_net in zip(ref_nets, fast_nets):
            ref_net.load_state_dict(fast_net.state_dict())
        reference.ema.load_state_dict(fast.ema.state_dict())
    for ref_opt, fast_opt in ((reference.opt_d, fast.opt_d), (reference.opt_g, fast.opt_g)):
        for index, state in ref_opt.state_dict()["state"].items():
            for key in ("exp_avg", "exp_avg_sq"):
                assert relative_error(fast_opt.state_dict()["state"][index][key], state[key]) < 1e-4


# -- bf16 ---------------------------------------------------------------------------------------

# Relative L2 error of every gradient against the fp32 reference. bf16 operands (8-bit mantissas)
# in the products give up to ~18% on this untrained model: its discriminator gradients are small
# differences of large real and generated contributions, and weight norm's gradient removes the
# large component along v. Autocast's bf16 reference step errs as much (~20%), and fp32 outputs
# from the bf16 products would not help (16%): the operands' rounding is the cause.
BF16_GRADIENT_TOLERANCE = 0.25


@pytest.mark.parametrize("ops", ALL_OPS)
def test_bf16_gradients_are_close_to_fp32_reference(ops):
    """bf16 products (float32 elsewhere): every parameter's gradient within BF16_GRADIENT_TOLERANCE
    of the fp32 reference, and no further from it than autocast's bf16 reference step (+10%)."""
    generator, discriminator, x, y = make_models(noise=False)
    nets = {k: copy.deepcopy((generator, discriminator)) for k in ("ref", "autocast", "fast")}
    steps = {
        "ref": ReferenceStep(CONFIG, *nets["ref"]),
        "autocast": ReferenceStep(CONFIG, *nets["autocast"], dtype=BF16),
        "fast": fast_step(*nets["fast"], dtype=BF16, ops=ops()),
    }
    for key in ("ref", "autocast"):
        for optimiser in (steps[key].opt_d, steps[key].opt_g):
            optimiser.step = lambda: None
    recorded: list[Gradient] = []
    steps["fast"].update_d.step = steps["fast"].update_g.step = lambda gradients, **_: recorded.extend(gradients)
    for step in steps.values():
        iteration(step, x, y, 0, seed=7)
    grads = {key: [p.grad for net in nets[key] for p in net.parameters()] for key in ("ref", "autocast")}
    fast_grads = {id(g.param): g.dense() for g in recorded}
    grads["fast"] = [fast_grads[id(p)] for net in nets["fast"] for p in net.parameters()]
    for want, autocast, got in zip(grads["ref"], grads["autocast"], grads["fast"]):
        error = relative_error(got, want)
        assert error < BF16_GRADIENT_TOLERANCE
        assert error < 1.1 * relative_error(autocast, want) + 1e-3


# -- Adam, state, resumption ------------------------------------------------------------------------

@pytest.mark.parametrize("kernels", [pytest.param(False, id="torch"), pytest.param(True, id="native", marks=native)])
@pytest.mark.parametrize("adam", [pytest.param(torch.optim.Adam, id="torch-adam"), pytest.param(AuthorsAdam, id="authors-adam")])
def test_fused_update_equals_the_optimisers_own_step(adam, kernels):
    torch.manual_seed(0)
    weight, bias = nn.Parameter(torch.randn(30, 70)), nn.Parameter(torch.randn(30))
    weight2, bias2 = nn.Parameter(weight.detach().clone()), nn.Parameter(bias.detach().clone())
    options = dict(lr=0.003, betas=(0.5, 0.999), eps=1e-8)
    reference, optimiser = adam([weight, bias], **options), adam([weight2, bias2], **options)
    fused = FusedAdamUpdate(optimiser, kernels=NativeOps().kernels if kernels else None)
    copy_, sumsq = torch.empty(30, 70, dtype=BF16), torch.empty(30)
    want_averages = [torch.randn(30, 70), torch.randn(30)]  # running averages, folded in as the EMA does
    got_averages = [a.clone() for a in want_averages]
    averages = {id(weight2): got_averages[0], id(bias2): got_averages[1]}
    for rate in (1.0, 0.5, 0.7, 0.3, 1e-4, 0.0):  # 1 copies; both branches of lerp's formula
        # small gradients too, where the two Adams differ most
        matrix, coefficient, grad_bias = torch.randn(30, 70) * 1e-3, torch.randn(30) * 1e-4, torch.randn(30)
        weight.grad, bias.grad = matrix + coefficient[:, None] * weight.detach(), grad_bias
        reference.step()
        torch._foreach_lerp_(want_averages, [weight.detach(), bias.detach()], rate)
        fused.step([Gradient(weight2, matrix, coefficient, copy=copy_, row_sumsq=sumsq), Gradient(bias2, grad_bias)],
                   averages=averages, average_rate=rate)
        torch.testing.assert_close(weight2, weight, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(bias2, bias, rtol=1e-5, atol=1e-6)
        for got, want in zip(got_averages, want_averages):
            torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
        if rate == 1.0:
            assert torch.equal(got_averages[0], weight2.detach())  # a rate of 1 copies exactly
    torch.testing.assert_close(copy_, weight.detach().to(BF16), rtol=1e-2, atol=1e-6)
    torch.testing.assert_close(sumsq, weight.detach().square().sum(1), rtol=1e-5, atol=0)
    want, got = reference.state_dict(), optimiser.state_dict()
    for index, state in want["state"].items():
        for key, value in state.items():
            torch.testing.assert_close(got["state"][index][key], value, rtol=1e-5, atol=1e-6)


@native
def test_fused_update_refuses_parameters_at_different_step_counts():
    weight, bias = nn.Parameter(torch.randn(3, 4)), nn.Parameter(torch.randn(3))
    optimiser = AuthorsAdam([weight, bias], lr=0.003, betas=(0.5, 0.999), eps=1e-8)
    fused = FusedAdamUpdate(optimiser, kernels=NativeOps().kernels)
    fused.step([Gradient(weight, torch.ones(3, 4)), Gradient(bias, torch.ones(3))])
    fused.step([Gradient(weight, torch.ones(3, 4))])  # the bias is one step behind now
    with pytest.raises(ValueError, match="same step count"):
        fused.step([Gradient(weight, torch.ones(3, 4)), Gradient(bias, torch.ones(3))])


@pytest.mark.parametrize("ops", ALL_OPS)
def test_ema_of_a_discriminator_with_a_frozen_parameter_is_updated_in_a_pass_of_its_own(ops):
    """D's Adam pass updates only trained parameters, so it cannot fold in an EMA that also
    averages a frozen one; the step then updates the EMA as the reference does."""
    generator, discriminator, x, y = make_models()
    discriminator.frozen = nn.Parameter(torch.ones(3), requires_grad=False)  # averaged, never trained
    step = fast_step(generator, discriminator, ops=ops())
    assert step._d_averages is None
    iteration(step, x, y, 0, seed=1)
    before = [p.detach().clone() for p in discriminator.parameters()]
    iteration(step, x, y, 1, seed=2)
    assert int(step.ema.steps) == 2
    rate = step.ema.current_rate(2)
    for average, old, new in zip(step.ema.shadow, before, discriminator.parameters()):  # the first update copied
        torch.testing.assert_close(average, torch.lerp(old, new.detach(), rate), rtol=1e-6, atol=1e-7)
    changed = [not torch.equal(old, new.detach()) for old, new in zip(before, discriminator.parameters())]
    assert changed[0] is False and all(changed[1:])  # the frozen one stays, the trained ones moved


def test_other_optimisers_are_declined():
    parameter = nn.Parameter(torch.zeros(3))
    for optimiser in (torch.optim.SGD([parameter], lr=0.1), torch.optim.Adam([parameter], weight_decay=0.1)):
        with pytest.raises(UnsupportedOptimizer):
            FusedAdamUpdate(optimiser)


def test_state_dicts_move_between_reference_and_fast_steps():
    generator, discriminator, x, y = make_models()
    reference = ReferenceStep(CONFIG, *copy.deepcopy((generator, discriminator)))
    iteration(reference, x, y, 0, seed=1)
    fast = fast_step(*copy.deepcopy((generator, discriminator)), ops=NativeOps() if native_kernels_available() else None)
    fast.load_state_dict(reference.state_dict())
    iteration(fast, x, y, 1, seed=2)
    back = ReferenceStep(CONFIG, *copy.deepcopy((generator, discriminator)))
    back.load_state_dict(fast.state_dict())
    state = back.state_dict()
    assert state.keys() == reference.state_dict().keys()
    assert int(state["opt_d"]["state"][0]["step"]) == 2
    assert type(fast.opt_d) is type(reference.opt_d)  # the reference's own optimiser class


@pytest.mark.parametrize("dtype", [pytest.param(torch.float32, id="fp32"), pytest.param(BF16, id="bf16")])
@pytest.mark.parametrize("ops", ALL_OPS)
def test_resuming_from_a_state_dict_is_exact(dtype, ops):
    """Models, step and torch RNG saved after 2 iterations and restored into fresh objects: the
    next 2 iterations give bit-identical parameters and EMA (noise on)."""
    generator, discriminator, x, y = make_models()
    step = fast_step(generator, discriminator, dtype=dtype, ops=ops())
    for i in range(2):
        iteration(step, x, y, i, seed=i)
    saved = io.BytesIO()
    torch.save({"g": generator.state_dict(), "d": discriminator.state_dict(), "step": step.state_dict()}, saved)
    for i in range(2, 4):
        iteration(step, x, y, i, seed=i)
    saved.seek(0)
    state = torch.load(saved, weights_only=False)
    generator2, discriminator2 = MNISTGenerator(), MNISTDiscriminator()
    generator2.load_state_dict(state["g"])
    discriminator2.load_state_dict(state["d"])
    resumed = fast_step(generator2, discriminator2, dtype=dtype, ops=ops())
    resumed.load_state_dict(state["step"])
    for i in range(2, 4):
        iteration(resumed, x, y, i, seed=i)
    for a, b in zip([*generator.parameters(), *discriminator.parameters()], [*generator2.parameters(), *discriminator2.parameters()]):
        assert torch.equal(a, b)
    for a, b in zip(step.ema.shadow, resumed.ema.shadow):
        assert torch.equal(a, b)


def test_forward_follows_the_modules_mode_and_noise():
    """Eval mode: no noise, as the reference modules; the noise std is read at each pass."""
    generator, discriminator, x, _ = make_models(noise=True)
    fast = fast_step(generator, discriminator).fast_discriminator
    discriminator.eval()
    torch.testing.assert_close(fast.forward(x[:8]).logits, discriminator(x[:8]).logits, rtol=1e-5, atol=1e-5)
    discriminator.train()
    for module in discriminator.modules():
        if isinstance(module, GaussianNoise):
            module.std = 0.0
    torch.testing.assert_close(fast.forward(x[:8]).logits, discriminator(x[:8]).logits, rtol=1e-5, atol=1e-5)


def test_weights_follow_parameter_changes_made_outside_the_step():
    """load_state_dict between iterations: the next pass uses the new weights, not stale copies."""
    generator, discriminator, x, y = make_models(noise=False)
    step = fast_step(generator, discriminator)
    iteration(step, x, y, 0, seed=0)
    other = MNISTDiscriminator(input_noise=0.0, hidden_noise=0.0)
    discriminator.load_state_dict(other.state_dict())
    images = x[:8]
    torch.testing.assert_close(step.fast_discriminator.forward(images).logits, other(images).logits, rtol=1e-5, atol=1e-5)


# -- what build_step accepts ---------------------------------------------------------------------------

def test_build_step_accepts_mnist_fm_in_both_precisions():
    generator, discriminator, _, _ = make_models()
    assert isinstance(build_step(CONFIG, generator, discriminator, dtype=torch.float32), FastStep)
    step = build_step(CONFIG, generator, discriminator, dtype=BF16)
    assert step.dtype == BF16
    # D's Adam pass folds the EMA in: it updates every parameter the EMA averages
    assert set(step._d_averages) == {id(p) for p in discriminator.parameters()}


@pytest.mark.parametrize(
    "change",
    [
        {"generator_loss": "saturating"},
        {"historical_averaging": 1e-3},
    ],
)
def test_build_step_declines_other_objectives(change):
    generator, discriminator, _, _ = make_models()
    config = dataclasses.replace(CONFIG, **change)
    assert build_step(config, generator, discriminator, dtype=torch.float32) is None


def test_build_step_declines_other_networks():
    generator, _, _, _ = make_models()
    minibatch = MNISTDiscriminator(minibatch_kernels=10)
    assert build_step(CONFIG, generator, minibatch, dtype=torch.float32) is None
    assert discriminator_layers(nn.Sequential(nn.Linear(784, 10))) is None
    assert generator_layers(nn.Linear(100, 784)) is None
    assert build_step(CONFIG, generator, MNISTDiscriminator(), dtype=torch.float16) is None


def test_build_step_declines_networks_with_parameters_it_would_not_update():
    generator, discriminator, _, _ = make_models()
    discriminator.extra = nn.Parameter(torch.zeros(3))  # trainable, but in no layer the fast passes know
    assert build_step(CONFIG, generator, discriminator, dtype=torch.float32) is None
    del discriminator.extra
    generator.net[-3].weight_g.requires_grad_(False)  # frozen: the fast passes would update it anyway
    assert build_step(CONFIG, generator, discriminator, dtype=torch.float32) is None


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_fast_step_on_cuda_matches_reference():
    """On CUDA (PyTorch operations, TF32 off): one iteration's losses and gradients, noise off."""
    torch.backends.cuda.matmul.allow_tf32 = False
    generator, discriminator, x, y = make_models(noise=False)
    cuda = torch.device("cuda")
    ref_nets = copy.deepcopy((generator, discriminator))
    fast_nets = [net.to(cuda) for net in copy.deepcopy((generator, discriminator))]
    x_cuda, y_cuda = x.to(cuda), y.to(cuda)
    reference = ReferenceStep(CONFIG, *ref_nets)
    fast = build_step(CONFIG, *fast_nets, dtype=torch.float32)
    assert isinstance(fast.fast_discriminator.ops, TorchOps)
    for optimiser in (reference.opt_d, reference.opt_g):
        optimiser.step = lambda: None
    recorded: list[Gradient] = []
    fast.update_d.step = fast.update_g.step = lambda gradients, **_: recorded.extend(gradients)
    want = iteration(reference, x, y, 0, seed=5)
    x_unl, x_lab, y_lab, x_fm = batches(x_cuda, y_cuda, 0)
    torch.manual_seed(5)
    fast.generator.sample_latent = lambda n, **_: torch.rand(n, CONFIG.latent_dim).to(cuda)  # the CPU stream
    got = {k: float(v) for k, v in fast.discriminator_step(x_unl, x_lab, y_lab).items()}
    got.update({k: float(v) for k, v in fast.generator_step(x_fm).items()})
    for key in want:
        assert got[key] == pytest.approx(want[key], rel=1e-4, abs=1e-5), key
    grads = {id(g.param): g.dense().cpu() for g in recorded}
    for ref_net, fast_net in zip(ref_nets, fast_nets):
        for p, q in zip(ref_net.parameters(), fast_net.parameters()):
            assert relative_error(grads[id(q)], p.grad) < 1e-4
