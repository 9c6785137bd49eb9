"""The fast training step for the permutation-invariant MNIST models.

:func:`build_step` returns a :class:`FastStep` for the configurations and
networks it accelerates, or None (then
:func:`~improved_gan.training.steps.make_step` gives the reference step and
says why). See docs/speed.md.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

from improved_gan.config import TrainConfig
from improved_gan.training.steps.fast.adam import UnsupportedOptimizer
from improved_gan.training.steps.fast.native import NativeKernelsUnavailable
from improved_gan.training.steps.fast.networks import discriminator_layers, generator_layers
from improved_gan.training.steps.fast.ops import NativeOps, Ops, TorchOps
from improved_gan.training.steps.fast.step import FastStep, UnsupportedNetwork

__all__ = ["FastStep", "build_step", "make_ops"]


def make_ops(device: torch.device) -> Ops:
    """The C kernels on CPU where they build; else PyTorch operations (with a warning on CPU)."""
    if device.type != "cpu":
        return TorchOps()
    try:
        return NativeOps()
    except NativeKernelsUnavailable as err:
        warnings.warn(f"fast step: native kernels unavailable, using PyTorch operations ({err})", stacklevel=3)
        return TorchOps()


def build_step(
    config: TrainConfig,
    generator: nn.Module,
    discriminator: nn.Module,
    *,
    dtype: torch.dtype = torch.float32,
) -> FastStep | None:
    """A :class:`FastStep` for ``config`` and the two networks, or None where it does not apply.

    It applies to feature matching without historical averaging, either Adam
    (:mod:`improved_gan.training.optim`), networks of the shapes of
    :mod:`improved_gan.training.steps.fast.networks` (mnist-fm), products in
    float32 or bfloat16 (``dtype``, both players alike), on any device.
    """
    if config.generator_loss != "feature-matching" or config.historical_averaging > 0:
        return None
    if config.bf16_players != "both":  # one player's products in bfloat16, the other's in float32
        return None
    g_layers, d_layers = generator_layers(generator), discriminator_layers(discriminator)
    if g_layers is None or d_layers is None:
        return None
    device = next(discriminator.parameters()).device
    if dtype not in (torch.float32, torch.bfloat16):
        return None
    try:
        return FastStep(
            config,
            generator,
            discriminator,
            generator_layers=g_layers,
            discriminator_layers=d_layers,
            dtype=dtype,
            ops=make_ops(device),
        )
    except (UnsupportedOptimizer, UnsupportedNetwork):
        return None
