"""The reference training core, unit by unit: ReferenceStep's two updates (with and without
cross-sample layers), the step front door, the lr schedule and the batch plan.

Expected values are written out here from the definitions (docs/reference.md), in float64
where they are sums, independently of the package's loss functions.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from argmax_ties import error_count_bounds

from improved_gan.errors import ConfigError
from improved_gan.experiments.presets import get_preset
from improved_gan.models.mnist import MNISTDiscriminator, MNISTGenerator
from improved_gan.training.batches import epoch_plan
from improved_gan.training.build import initialise_models
from improved_gan.training.steps import Step, make_step
from improved_gan.training.steps.reference import ReferenceStep
from improved_gan.training.trainer import learning_rate

CPU = torch.device("cpu")
BATCH = 20


def networks(config, *, minibatch: bool = False, seed: int = 0):
    """The preset's MNIST networks with every noise layer off, initialised from 'data'."""
    torch.manual_seed(seed)
    mbd = {"minibatch_kernels": 20, "minibatch_kernel_dim": 5} if minibatch else {}
    generator = MNISTGenerator()
    discriminator = MNISTDiscriminator(input_noise=0.0, hidden_noise=0.0, **mbd)
    x = torch.rand(200, 1, 28, 28)
    initialise_models(generator, discriminator, x, config)
    return generator, discriminator, x, torch.randint(0, 10, (200,))


def softplus(a: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, a)


def lse(logits: np.ndarray) -> np.ndarray:
    return np.log(np.exp(logits).sum(axis=1))


def authors_d_loss(l_lab, y, l_unl, l_gen) -> float:
    """docs/reference.md: -mean(l_y) + mean(LSE(l_lab)) - 1/2 mean(LSE(l_unl)) + 1/2 mean(sp(LSE(l_unl)))
    + 1/2 mean(sp(LSE(l_gen)))."""
    supervised = -l_lab[np.arange(len(y)), y].mean() + lse(l_lab).mean()
    unsupervised = -0.5 * lse(l_unl).mean() + 0.5 * softplus(lse(l_unl)).mean() + 0.5 * softplus(lse(l_gen)).mean()
    return supervised + unsupervised


def logits_of(discriminator, x) -> np.ndarray:
    with torch.no_grad():
        return discriminator(x).logits.double().numpy()


@pytest.mark.parametrize("minibatch", [False, True], ids=["one-pass", "separate-passes"])
def test_discriminator_step_minimises_the_authors_loss(minibatch):
    config = get_preset("mnist-mbd" if minibatch else "mnist-fm")
    generator, discriminator, x, y = networks(config, minibatch=minibatch)
    x_lab, y_lab, x_unl = x[:BATCH], y[:BATCH], x[BATCH : 2 * BATCH]
    torch.manual_seed(7)
    with torch.no_grad():
        x_gen = generator(torch.rand(BATCH, generator.latent_dim))
    # with minibatch features a row's output depends on its batch: each part goes through D alone
    l_lab = logits_of(discriminator, x_lab)
    expected = authors_d_loss(l_lab, y_lab.numpy(), logits_of(discriminator, x_unl), logits_of(discriminator, x_gen))
    step = ReferenceStep(config, generator, discriminator)
    assert step.separate_batches is minibatch
    calls = []
    hook = discriminator.register_forward_hook(lambda module, args, out: calls.append(len(args[0])))
    before = [p.detach().clone() for p in discriminator.parameters()]
    torch.manual_seed(7)
    stats = step.discriminator_step(x_unl, x_lab, y_lab)
    hook.remove()
    assert calls == ([BATCH] * 3 if minibatch else [3 * BATCH])
    # rel=1e-5: the step's float32 losses against float64 sums of the same float32 logits, which the
    # step computes on another batch (3 x 20 rows in one pass) than logits_of (20): products of another
    # shape round differently, by ~1e-7 relative per logit (any CPU's kernels); the loss, a mean of
    # log-sum-exps of O(1) logits, is no worse conditioned. A wrong term or weight errs by > 1e-2.
    assert float(stats["loss_d"]) == pytest.approx(expected, rel=1e-5)
    assert float(stats["loss_sup"]) + float(stats["loss_unsup"]) == pytest.approx(expected, rel=1e-5)
    # the count is exact except for rows whose two best logits tie to within that rounding
    # (1e-5 of the largest logit: ~100x the float32 rounding through the discriminator's products)
    fewest, most = error_count_bounds(l_lab, y_lab.numpy(), margin=1e-5 * np.abs(l_lab).max())
    assert fewest <= int(stats["train_errors"]) <= most
    changed = [not torch.equal(b, p) for b, p in zip(before, discriminator.parameters())]
    trainable = [p.requires_grad for p in discriminator.parameters()]
    assert changed == trainable  # every trainable parameter moved, the frozen weight-norm scales did not


def test_generator_step_matches_feature_matching_and_leaves_d_alone():
    config = get_preset("mnist-fm")
    generator, discriminator, x, _ = networks(config)
    x_real = x[:BATCH]
    torch.manual_seed(3)
    with torch.no_grad():
        f_gen = discriminator(generator(torch.rand(BATCH, generator.latent_dim))).features.double()
        f_real = discriminator(x_real).features.double()
    expected = float(((f_real.mean(0) - f_gen.mean(0)) ** 2).mean())  # Section 3.1, mean over units
    step = ReferenceStep(config, generator, discriminator)
    d_before = [p.detach().clone() for p in discriminator.parameters()]
    d_flags = [p.requires_grad for p in discriminator.parameters()]
    g_before = [p.detach().clone() for p in generator.parameters() if p.requires_grad]
    torch.manual_seed(3)
    stats = step.generator_step(x_real)
    # rel=1e-5: float32 features of the same rows from another pass than the step's round differently,
    # by ~1e-7 relative (batch shape, any CPU's kernels); the loss, a mean of squared differences of
    # feature means, is far from zero here, so that rounding stays ~1e-6 of it. A wrong mean errs by > 1e-2.
    assert float(stats["loss_g"]) == pytest.approx(expected, rel=1e-5)
    assert all(torch.equal(b, p) for b, p in zip(d_before, discriminator.parameters()))
    assert all(p.grad is None for p in discriminator.parameters())
    assert [p.requires_grad for p in discriminator.parameters()] == d_flags  # frozen only during G's step
    assert all(not torch.equal(b, p) for b, p in zip(g_before, [p for p in generator.parameters() if p.requires_grad]))


def test_the_ema_evaluates_an_average_of_the_discriminator():
    config = dataclasses.replace(get_preset("mnist-fm"), ema_rate=1.0)  # rate 1: the average is the last value
    generator, discriminator, x, y = networks(config)
    step = ReferenceStep(config, generator, discriminator)
    step.discriminator_step(x[:BATCH], x[BATCH : 2 * BATCH], y[BATCH : 2 * BATCH])
    copy = MNISTDiscriminator(input_noise=0.0, hidden_noise=0.0)
    step.average_discriminator_into(copy)
    for p, q in zip(discriminator.state_dict().values(), copy.state_dict().values()):
        torch.testing.assert_close(p, q)


# -- the front door -------------------------------------------------------------------------------

def test_make_step_gives_the_step_the_config_asks_for():
    fm = get_preset("mnist-fm")
    generator, discriminator, *_ = networks(fm)
    step = make_step(fm, generator, discriminator, device=CPU, dtype=torch.float32)
    assert isinstance(step, Step) and isinstance(step, ReferenceStep)
    assert step.info.record() == {"step": "reference", "precision": "fp32"}
    fast = make_step(dataclasses.replace(fm, fast_step=True), generator, discriminator, device=CPU, dtype=torch.bfloat16)
    assert isinstance(fast, Step) and fast.info.record() == {"step": "fast", "precision": "bf16"}
    mbd = get_preset("mnist-mbd")
    g2, d2, *_ = networks(mbd, minibatch=True)
    fallback = make_step(dataclasses.replace(mbd, fast_step=True), g2, d2, device=CPU, dtype=torch.float32)
    assert fallback.info.kind == "reference" and "does not implement" in fallback.info.describe()


def test_make_step_refuses_other_dtypes_and_devices():
    fm = get_preset("mnist-fm")
    generator, discriminator, *_ = networks(fm)
    with pytest.raises(ValueError, match="float32 or torch.bfloat16"):
        make_step(fm, generator, discriminator, device=CPU, dtype=torch.float16)
    with pytest.raises(ValueError, match="expected MNISTGenerator on cuda"):
        make_step(fm, generator, discriminator, device=torch.device("cuda"), dtype=torch.float32)


@pytest.mark.parametrize("players", ["both", "generator", "discriminator"])
def test_bf16_players_puts_only_the_named_players_products_in_bfloat16(players):
    config = dataclasses.replace(get_preset("mnist-fm-paper"), precision="bf16", bf16_players=players).validate()
    generator, discriminator, x, y = networks(config)
    seen = {"generator": set(), "discriminator": set()}
    generator.register_forward_hook(lambda m, i, out: seen["generator"].add(out.dtype))
    discriminator.register_forward_hook(lambda m, i, out: seen["discriminator"].add(out.logits.dtype))
    step = make_step(config, generator, discriminator, device=CPU, dtype=torch.bfloat16)
    stats = step.discriminator_step(x[:BATCH], x[BATCH : 2 * BATCH], y[BATCH : 2 * BATCH])
    stats.update(step.generator_step(x[:BATCH]))
    expected = {name: {torch.bfloat16 if players in ("both", name) else torch.float32}
                for name in ("generator", "discriminator")}
    assert seen == expected
    assert all(torch.isfinite(v) and v.dtype == torch.float32 for v in stats.values() if v.is_floating_point())


def test_bf16_players_other_than_both_runs_the_reference_step_and_needs_bf16():
    config = dataclasses.replace(get_preset("mnist-fm"), precision="bf16", bf16_players="generator", fast_step=True)
    generator, discriminator, *_ = networks(config)
    step = make_step(config, generator, discriminator, device=CPU, dtype=torch.bfloat16)
    assert step.info.kind == "reference" and "does not implement" in step.info.describe()
    with pytest.raises(ConfigError, match="bf16_players=discriminator needs precision=bf16 .got precision=auto."):
        dataclasses.replace(get_preset("mnist-fm"), bf16_players="discriminator").validate()
    simultaneous = dataclasses.replace(get_preset("mnist-fm"), precision="bf16", bf16_players="generator",
                                       update="simultaneous")
    with pytest.raises(ConfigError, match="alternating updates only"):
        simultaneous.validate()


# -- schedule and batches -------------------------------------------------------------------------

def test_learning_rate_schedule_of_the_paper_time_script():
    """lr 0.001 held to epoch 200, then linear to 0 at epoch 300 (0-based epochs)."""
    config = dataclasses.replace(get_preset("mnist-fm"), lr=0.001, lr_decay_start=200, lr_decay_end=300)
    for epoch, want in [(0, 0.001), (199, 0.001), (200, 0.001), (250, 0.0005), (299, 0.00001), (300, 0.0), (400, 0.0)]:
        assert learning_rate(config, epoch) == pytest.approx(want, abs=1e-15)
    constant = dataclasses.replace(config, lr=0.003, lr_decay_start=None, lr_decay_end=None)
    assert {learning_rate(constant, e) for e in (0, 150, 299)} == {0.003}


def test_epoch_plan_visits_every_example_once_and_tiles_the_labels():
    rng = np.random.default_rng(0)
    labeled = np.array([3, 17, 29, 41, 55, 58])
    plan = epoch_plan(rng, num_unlabeled=60, labeled_indices=labeled, batch_size=10, iterations=6)
    assert plan.unlabeled.shape == plan.unlabeled_fm.shape == plan.labeled.shape == (6, 10)
    assert sorted(plan.unlabeled.ravel()) == list(range(60)) == sorted(plan.unlabeled_fm.ravel())
    assert not np.array_equal(plan.unlabeled, plan.unlabeled_fm)  # two independent permutations
    values, counts = np.unique(plan.labeled, return_counts=True)
    assert values.tolist() == labeled.tolist() and counts.tolist() == [10] * 6  # tiled evenly
    again = epoch_plan(np.random.default_rng(0), num_unlabeled=60, labeled_indices=labeled, batch_size=10, iterations=6)
    assert all(np.array_equal(a, b) for a, b in zip(plan, again))  # one generator decides everything


def test_epoch_plan_without_labels():
    plan = epoch_plan(np.random.default_rng(1), num_unlabeled=25, labeled_indices=None, batch_size=10, iterations=3)
    assert plan.labeled is None and plan.unlabeled.shape == (3, 10)
    assert len(set(plan.unlabeled.ravel()[:25])) == 25  # a fresh permutation before any repeat


def test_config_errors_name_the_problem():
    with pytest.raises(ConfigError, match="lr_decay_start and lr_decay_end go together"):
        dataclasses.replace(get_preset("mnist-fm"), lr_decay_start=10).validate()
