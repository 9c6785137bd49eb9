"""The fast training step for the permutation-invariant MNIST models (issue 8).

:func:`build_step` returns a :class:`FastTrainStep` for the configurations and
networks it accelerates, or None (then the reference
:class:`~improved_gan.training.step.TrainStep` runs). See docs/speed.md.
"""

from __future__ import annotations

import contextlib
import warnings
from typing import Callable, ContextManager

import torch
from torch import nn

from improved_gan.config import TrainConfig
from improved_gan.training.fast.adam import UnsupportedOptimizer
from improved_gan.training.fast.native import NativeKernelsUnavailable
from improved_gan.training.fast.networks import discriminator_layers, generator_layers
from improved_gan.training.fast.ops import NativeOps, Ops, TorchOps
from improved_gan.training.fast.step import FastTrainStep, UnsupportedNetwork

__all__ = ["FastTrainStep", "build_step", "compute_dtype", "make_ops"]


def compute_dtype(autocast: Callable[[], ContextManager], device: torch.device) -> torch.dtype:
    """The dtype of the matrix products that ``autocast()`` asks for on ``device`` (float32 for a no-op)."""
    with autocast():
        if torch.is_autocast_enabled(device.type):
            return torch.get_autocast_dtype(device.type)
    return torch.float32


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
    autocast: Callable[[], ContextManager] = contextlib.nullcontext,
) -> FastTrainStep | None:
    """A :class:`FastTrainStep` for ``config`` and the two networks, or None where it does not apply.

    It applies to feature matching without historical averaging, either Adam
    (:mod:`improved_gan.training.optim`), networks of the shapes of
    :mod:`improved_gan.training.fast.networks` (mnist-fm), float32 or bfloat16
    (``autocast``'s dtype), on any device.
    """
    if config.generator_loss != "feature-matching" or config.historical_averaging > 0:
        return None
    g_layers, d_layers = generator_layers(generator), discriminator_layers(discriminator)
    if g_layers is None or d_layers is None:
        return None
    device = next(discriminator.parameters()).device
    dtype = compute_dtype(autocast, device)
    if dtype not in (torch.float32, torch.bfloat16):
        return None
    try:
        return FastTrainStep(
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
