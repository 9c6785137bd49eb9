"""With the noise off, S stacked copies are S single runs (issue 15, "Equivalence").

Three seeds of a tiny mnist-fm (mnist5k, batches of 20, 50 steps), each copy
seeing its own seed's labeled subset, batch order and z; the noise layers at
std 0. Two comparisons with the reference step, float32, relative error
``max |stacked - single| / max |single|`` per tensor, every parameter, Adam
moment and EMA average:

* step for step, float32, at the preset's rate 3e-3: before every one of 50
  steps, each single run is loaded with its copy's state (which exercises
  ``copy_state``, the single-run checkpoint format), makes that step, and must
  land within 3e-5 of the copy (``STEP_RTOL``).
* free-running, 50 steps, the engine and three separate single runs: within
  1e-5 at the end, with the networks in float64 (the losses in float64 too: both steps
  compute them in float32 at least) and lr 1e-4. Without the noise that
  regularises it this tiny GAN is chaotic: rounding differences grow about
  tenfold every few steps, and in float32 at the preset's 3e-3 two trajectories
  that start within 1e-7 of each other (a batched product ``bmm`` rounds
  differently from ``mm``) are 0.3 apart after 50 steps, as they would be between
  *any* two implementations; a ReLU unit whose pre-activation rounds to the
  other side of 0 gives its weights a whole Adam step of difference. The
  measured growth is in docs/stacked.md.
"""

from __future__ import annotations


import pytest
import torch
from training.test_stacked_common import (
    TINY_FM,
    as_float64,
    assert_states_close,
    float64,
    reference_step_class,
    silence,
    train_single,
    with_config,
)

from improved_gan.training.experiment_data import load_experiment_data
from improved_gan.training.stacked import StackedEngine, build_copy, copy_configs

CPU = torch.device("cpu")
SEEDS = (0, 1, 2)
RTOL = 1e-5
# One float32 step at lr 3e-3, measured at most 1.4e-5 (G's output bias, step 0; 6.9e-6 while the stacked
# batch norm was F.batch_norm's kernel, as the reference's): Adam's first step is lr g / sqrt(g^2 + 1e-8),
# whose slope at g ~ 0 is lr / 1e-4 = 30, so a float32 round-off of 1e-9 in a near-zero gradient moves the
# bias by 3e-8, 1e-5 of its largest value (lr).
STEP_RTOL = 3e-5
CALM = with_config(TINY_FM, lr=1e-4)  # 5 epochs x 10 iterations = 50 steps


@pytest.fixture(scope="module")
def data():
    return load_experiment_data(TINY_FM, device=CPU)


@pytest.fixture(scope="module")
def data64(data):
    return as_float64(data)


def silent_copies(config, seeds, data):
    copies = [build_copy(c, data, device=CPU) for c in copy_configs(config, seeds)]
    for copy in copies:
        silence(copy.discriminator)
    return copies


def assert_copy_equals_single(engine, index, copy, step, rtol: float = RTOL) -> None:
    assert_states_close(engine.generator.copy_state(index), copy.generator.state_dict(), rtol=rtol, path="G")
    assert_states_close(engine.discriminator.copy_state(index), copy.discriminator.state_dict(), rtol=rtol, path="D")
    assert_states_close(engine.step.copy_state(index), step.state_dict(), rtol=rtol, path="step")


@pytest.fixture(scope="module")
def free_running(data64):
    """The stacked engine and the three single runs, 50 steps each, noise off, float64 networks."""
    with float64():
        engine = StackedEngine(silent_copies(CALM, SEEDS, data64), data64, device=CPU)
        for _ in range(CALM.epochs):
            engine.run_epoch(CALM.lr, evaluate=False)
        singles = [(c, train_single(c, data64, CALM.epochs)) for c in silent_copies(CALM, SEEDS, data64)]
    return engine, singles


@pytest.mark.parametrize("index", range(len(SEEDS)))
def test_copy_matches_its_single_run_after_50_steps(free_running, index):
    engine, singles = free_running
    assert_copy_equals_single(engine, index, *singles[index])


def test_copies_are_different_trainings(free_running):
    """The copies differ from each other (else the test above would prove little)."""
    engine, _ = free_running
    v = engine.discriminator.params[0]
    assert (v[0] - v[1]).abs().max() > 1e-2 and (v[1] - v[2]).abs().max() > 1e-2


def test_each_copy_keeps_its_own_streams(free_running):
    """Batch order and z streams end where the single runs' end (each copy drew its own)."""
    engine, singles = free_running
    for s, (copy, _) in enumerate(singles):
        assert engine.numpy_rngs[s].bit_generator.state == copy.numpy_rng.bit_generator.state
        assert torch.equal(engine.step.latent_rngs[s].get_state(), copy.latent_rng.get_state())


def test_every_step_matches_at_the_presets_rate(data):
    config = with_config(TINY_FM, iters_per_epoch=50)
    assert config.lr == 3e-3
    engine = StackedEngine(silent_copies(config, SEEDS, data), data, device=CPU)
    singles = silent_copies(config, SEEDS, data)
    steps = [reference_step_class()(config, c.generator, c.discriminator) for c in singles]
    unlabeled, unlabeled_fm, labeled = engine.plan_epoch()
    x, y = data.x_unlabeled, data.y_unlabeled
    for i in range(len(unlabeled)):
        before = [engine.copy_state(s) for s in range(engine.size)]
        engine.train_iterations(unlabeled[i : i + 1], unlabeled_fm[i : i + 1], labeled[i : i + 1])
        for s, (copy, step) in enumerate(zip(singles, steps)):
            copy.generator.load_state_dict(before[s]["generator"])
            copy.discriminator.load_state_dict(before[s]["discriminator"])
            step.load_state_dict(before[s]["step"])
            with torch.random.fork_rng(devices=[]):
                torch.set_rng_state(before[s]["rng"]["torch"])
                step.discriminator_step(x[unlabeled[i, s]], x[labeled[i, s]], y[labeled[i, s]])
                step.generator_step(x[unlabeled_fm[i, s]])
            assert_copy_equals_single(engine, s, copy, step, rtol=STEP_RTOL)


def test_gan_mode_and_the_non_saturating_loss_match_too(data64):
    """The objective's variants share the step's code path: no labels, G by the GAN loss, smoothing."""
    config = with_config(CALM, mode="gan", labels=0, generator_loss="non-saturating", label_smoothing=0.9)
    with float64():
        engine = StackedEngine(silent_copies(config, (3, 4), data64), data64, device=CPU)
        engine.run_epoch(config.lr, evaluate=False)
        for index, copy in enumerate(silent_copies(config, (3, 4), data64)):
            assert_copy_equals_single(engine, index, copy, train_single(copy, data64, 1))
