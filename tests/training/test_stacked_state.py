"""Stacked state: the optimiser and the EMA on stacked tensors, copies in and out, single-run checkpoints.

- the authors' Adam and the EMA applied to ``[S, *shape]`` tensors equal S separate ones;
- ``StackedModule``: a copy's ``state_dict`` and module round-trip, forward passes equal the modules'
  (each copy with its own noise draws); the stacked pass's batch norm and softplus are the layers' formulas,
  and the softplus gives each value the same bits wherever it sits in the tensor;
- ``StackedEngine.copy_state(s)`` equals the checkpoint a single run of seed s writes after the same
  epochs (noise off), key for key: networks, optimisers, EMA, random streams.
"""

from __future__ import annotations

import pytest
import torch
from training.test_stacked_common import TINY_FM, as_float64, assert_states_close, float64, with_config

from improved_gan.layers import BatchStatisticsNorm, GaussianNoise
from improved_gan.models.mnist import MNISTDiscriminator, MNISTGenerator
from improved_gan.runs import checkpoint as ckpt
from improved_gan.training.ema import ExponentialMovingAverage
from improved_gan.training.experiment_data import load_experiment_data
from improved_gan.training.optim import AuthorsAdam
from improved_gan.training.stacked import StackedEngine, StackedModule
from improved_gan.training.stacked.state import lane_independent_softplus, per_copy_batch_norm

S = 3


def test_authors_adam_on_stacked_tensors_equals_one_per_copy():
    shapes = [(7, 5), (5,), ()]
    stacked = [torch.nn.Parameter(torch.randn(S, *shape)) for shape in shapes]
    singles = [[torch.nn.Parameter(p[s].detach().clone()) for p in stacked] for s in range(S)]
    opt = AuthorsAdam(stacked, lr=3e-3, betas=(0.5, 0.999))
    opts = [AuthorsAdam(params, lr=3e-3, betas=(0.5, 0.999)) for params in singles]
    for step in range(20):
        grads = [torch.randn(S, *shape) * 10.0 ** -(step % 6) for shape in shapes]  # tiny ones too
        for p, g in zip(stacked, grads):
            p.grad = g
        opt.step()
        for s in range(S):
            for p, g in zip(singles[s], grads):
                p.grad = g[s].clone()
            opts[s].step()
    for s in range(S):
        for p, q in zip(stacked, singles[s]):
            torch.testing.assert_close(p[s], q, rtol=0, atol=0)
        for i in range(len(shapes)):
            state, single = opt.state[stacked[i]], opts[s].state[singles[s][i]]
            torch.testing.assert_close(state["exp_avg_sq"][s], single["exp_avg_sq"], rtol=0, atol=0)
            assert float(state["step"]) == float(single["step"])


def test_ema_on_stacked_tensors_equals_one_per_copy():
    modules = [MNISTGenerator(hidden_sizes=(8,)) for _ in range(S)]
    stacked = StackedModule(modules)
    ema = ExponentialMovingAverage(stacked.params, rate=1e-2)
    emas = [ExponentialMovingAverage(m, rate=1e-2) for m in modules]
    for _ in range(15):
        with torch.no_grad():
            for p in stacked.params:
                p.add_(torch.randn_like(p))
            for s, module in enumerate(modules):
                for p, q in zip(module.parameters(), stacked.params):
                    p.copy_(q[s])
        ema.update(stacked.params)
        for e, m in zip(emas, modules):
            e.update(m)
    for s in range(S):
        for a, b in zip(ema.shadow, emas[s].shadow):
            torch.testing.assert_close(a[s], b, rtol=0, atol=0)


def test_stacked_module_round_trip_and_forward():
    modules = [MNISTDiscriminator(hidden_sizes=(30, 20), input_noise=0.0, hidden_noise=0.0) for _ in range(S)]
    for m in modules:
        m.trunk[2].weight_g.fill_(float(torch.rand(())))  # buffers differ per copy too
    stacked = StackedModule(modules)
    x = torch.rand(S, 6, 1, 28, 28)
    out = stacked(x)
    for s, module in enumerate(modules):
        assert list(stacked.copy_state(s)) == list(module.state_dict())
        assert_states_close(stacked.copy_state(s), module.state_dict(), rtol=0)
        assert_states_close(stacked.unstack(s).state_dict(), module.state_dict(), rtol=0)
        torch.testing.assert_close(out.logits[s], module(x[s]).logits, rtol=1e-6, atol=1e-6)
    stacked.load_copy(1, modules[2].state_dict())
    assert_states_close(stacked.copy_state(1), modules[2].state_dict(), rtol=0)
    with pytest.raises(IndexError):
        stacked.copy_state(S)


# Float64 networks, data and z in both: in float32 the two free-running trajectories part within 10 steps for
# some seeds (3 of seeds 0-7 here, from step 6 on, 1e-2 apart by step 10): a ReLU unit whose pre-activation
# rounds to the other side of 0 in one of them gives its weights a whole Adam step of difference (see
# test_stacked_equivalence.py). In float64 the two differ first by rounding, about 1e-16 relative, which grows
# about tenfold every few steps (test_stacked_equivalence.py): at most about 1e-12 after 10 steps, and a
# pre-activation that close to 0 is about 1e9 times less likely than in float32 (the ratio of the two
# precisions' rounding). 1e-9 leaves three orders of magnitude above that bound (seeds 0-7 agreed within 2.3e-14
# on an AVX2 host).
CHECKPOINT_RTOL = 1e-9


def test_copy_state_is_the_checkpoint_of_a_single_run(tmp_path, monkeypatch):
    """Seed s of a stack, unstacked, is what ``improved_gan train`` of seed s writes (noise off, 10 steps)."""
    try:
        from improved_gan.training.trainer import train
    except ImportError:
        pytest.skip("the single-run trainer moved")
    import improved_gan.training.data_source as data_source

    monkeypatch.setattr(GaussianNoise, "forward", lambda self, x: x)  # noise off in both, nothing drawn
    monkeypatch.setattr(StackedModule, "noise_plan", lambda self, *args: [])  # the engine draws none either
    loaded = data_source.load_experiment_data  # the single run's data, in float64 like the stack's
    monkeypatch.setattr(data_source, "load_experiment_data", lambda *a, **k: as_float64(loaded(*a, **k)))
    config = with_config(TINY_FM, lr=1e-4, epochs=2, iters_per_epoch=5)
    seeds = (0, 5)
    with float64():
        data = as_float64(load_experiment_data(config, device=torch.device("cpu")))
        engine = StackedEngine.build(config, seeds, data=data)
        for _ in range(config.epochs):
            engine.run_epoch(config.lr)
        for seed in seeds:
            train(with_config(config, seed=seed), tmp_path / f"seed{seed}", progress=False)
    for index, seed in enumerate(seeds):
        single = ckpt.load_checkpoint(tmp_path / f"seed{seed}")
        state = engine.copy_state(index)
        assert set(single) - {"version"} == set(state)
        for key in ("generator", "discriminator", "step"):
            assert_states_close(state[key], single[key], rtol=CHECKPOINT_RTOL, path=key)
        assert torch.equal(state["rng"]["torch"], single["rng"]["torch"])  # the z stream
        assert state["rng"]["numpy"] == single["rng"]["numpy"]  # the batch order
        assert state["step_info"] == {"step": "stacked", "precision": "fp32"}
        for key in ("epoch", "config", "image_shape", "num_classes"):
            assert state[key] == single[key], key
        assert [row["epoch"] for row in state["history"]] == [row["epoch"] for row in single["history"]]
        for ours, theirs in zip(state["history"], single["history"]):
            assert ours["loss_d"] == pytest.approx(theirs["loss_d"], rel=1e-4)
            for key in ("test_errors", "test_errors_raw", "test_examples"):  # the EMA D and the current one
                assert ours[key] == theirs[key], key
        # an unstacked copy is an ordinary module holding that state
        generator, discriminator = engine.unstack(index)
        assert_states_close(discriminator.state_dict(), single["discriminator"], rtol=CHECKPOINT_RTOL)


def test_a_stacked_run_resumes_exactly_with_the_noise_on():
    """``state_dict`` holds everything that moves (networks, Adam, EMA, z, batch-order and noise streams)."""
    config = with_config(TINY_FM, iters_per_epoch=3)
    data = load_experiment_data(config, device=torch.device("cpu"))
    uninterrupted = StackedEngine.build(config, (0, 1), data=data)
    uninterrupted.run_epoch(config.lr, evaluate=False)
    saved = uninterrupted.state_dict()
    uninterrupted.run_epoch(config.lr, evaluate=False)

    resumed = StackedEngine.build(config, (0, 1), data=data)
    resumed.load_state_dict(saved)
    resumed.run_epoch(config.lr, evaluate=False)
    for index in range(2):
        expected, got = uninterrupted.copy_state(index), resumed.copy_state(index)
        for row in expected["history"] + got["history"]:
            row.pop("seconds")
        assert_states_close(got, expected, rtol=0)
    with pytest.raises(ValueError, match="seeds"):
        StackedEngine.build(config, (0, 2), data=data).load_state_dict(saved)


def test_each_copy_adds_its_own_noise_draws():
    """``stacked(x, noise=draws)``: copy s adds its own draws, what its module draws from a generator seeded alike."""
    torch.manual_seed(0)
    modules = [MNISTDiscriminator(hidden_sizes=(30, 20)) for _ in range(S)]  # noise on (training mode)
    stacked = StackedModule(modules)
    x = torch.rand(S, 6, 1, 28, 28)
    draws = stacked.draw_noise([torch.Generator().manual_seed(10 + s) for s in range(S)], x[0])
    out = stacked(x, noise=draws).logits  # [S, 6, K]
    for s, module in enumerate(modules):
        torch.manual_seed(10 + s)
        torch.testing.assert_close(out[s], module(x[s]).logits, rtol=1e-5, atol=1e-5)


def test_per_copy_batch_norm_is_the_layers_formula():
    """The stacked pass's batch norm: mean 0 and variance 1 per feature (then + bias), as BatchStatisticsNorm."""
    x = torch.randn(50, 7, dtype=torch.float64) * 3 + 2
    bias = torch.randn(7, dtype=torch.float64)
    y = per_copy_batch_norm(x, bias, eps=1e-6)
    expected = (x - x.sum(0) / 50) / torch.sqrt(((x - x.sum(0) / 50) ** 2).sum(0) / 50 + 1e-6) + bias
    torch.testing.assert_close(y, expected, rtol=1e-13, atol=1e-13)
    norm = BatchStatisticsNorm(7, dtype=torch.float64)
    with torch.no_grad():
        norm.bias.copy_(bias)
    torch.testing.assert_close(y, norm(x), rtol=1e-13, atol=1e-13)
    maps = torch.randn(4, 3, 5, 5, dtype=torch.float64)
    torch.testing.assert_close(per_copy_batch_norm(maps, bias[:3], eps=1e-6),
                               BatchStatisticsNorm(3, dtype=torch.float64)(maps) + bias[:3].view(1, 3, 1, 1))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_lane_independent_softplus(dtype):
    """Softplus and its gradient as F.softplus's to round-off, finite for large inputs, and each value the
    same wherever it sits in the tensor (F.softplus's CPU kernel computes the last values with other functions)."""
    torch.set_num_threads(1)
    x = (torch.randn(4099, dtype=dtype) * 10).requires_grad_()
    y = lane_independent_softplus(x)
    (grad,) = torch.autograd.grad(y.sum(), x)
    torch.testing.assert_close(y, torch.nn.functional.softplus(x))
    torch.testing.assert_close(grad, torch.sigmoid(x))
    big = torch.tensor([100.0, 1e4], dtype=dtype, requires_grad=True)
    (grad_big,) = torch.autograd.grad(lane_independent_softplus(big).sum(), big)
    assert torch.equal(grad_big, torch.ones_like(grad_big))
    with torch.no_grad():
        whole = lane_independent_softplus(x)  # the first values on the SIMD path
        one_by_one = torch.cat([lane_independent_softplus(x[i : i + 1]) for i in range(512)])  # the scalar path
    assert torch.equal(whole[:512], one_by_one)


def test_unstacked_copies_are_ordinary_modules():
    """The stacked pass's replacements live only during the pass: an unstacked G computes F.batch_norm's softplus."""
    stacked = StackedModule([MNISTGenerator(hidden_sizes=(8, 8)) for _ in range(S)])
    stacked(torch.rand(S, 6, 100))
    for module in (stacked.template, stacked.unstack(0)):
        assert not any("forward" in vars(m) for m in module.modules())
