"""Training steps behind one front door: :func:`make_step` and the :class:`Step` contract.

================  ==========================================================  ============
kind              what it is                                                  applies to
================  ==========================================================  ============
``reference``     autograd through the package's losses; the specification    every preset
``fast``          hand-written passes, fused Adam, C kernels on CPU           mnist-fm
``imagenet``      simultaneous D and G updates from one joint pass            imagenet128*
================  ==========================================================  ============

Under ``torchrun`` (``context`` with more than one process) every step's two
optimisers average their gradients over the ranks before each of their steps
(:func:`~improved_gan.training.distributed.average_gradients_before_step`), and
the reference step computes its whole-batch parts over the global batch
(:meth:`ReferenceStep.use_global_batch`); the ImageNet step keeps the authors'
per-tower batches.

The trainer imports nothing else from here. A benchmark or an experiment that
wants another step passes its own factory with :func:`make_step`'s signature to
:class:`~improved_gan.training.trainer.Trainer` (``step_factory=``).
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from improved_gan.config import TrainConfig
from improved_gan.errors import UserError
from improved_gan.training.distributed import DistributedContext, average_gradients_before_step
from improved_gan.training.steps.fast import build_step
from improved_gan.training.steps.imagenet import ImageNetStep
from improved_gan.training.steps.protocol import Step, StepInfo, precision_name
from improved_gan.training.steps.reference import ReferenceStep

__all__ = ["Step", "StepFactory", "StepInfo", "make_step", "precision_name"]

StepFactory = Callable[..., Step]


def make_step(
    config: TrainConfig,
    generator: nn.Module,
    discriminator: nn.Module,
    *,
    device: torch.device,
    dtype: torch.dtype,
    context: DistributedContext | None = None,
) -> Step:
    """The step ``config`` asks for, on networks already initialised on ``device``.

    ``config.fast_step`` asks for the fast step; where it does not implement the
    configuration, the reference step runs and its ``info.detail`` says why
    (the trainer shows it on the terminal: never a silent fallback).

    Args:
        config: the run's configuration.
        generator, discriminator: the two players.
        device: where they live (checked against their parameters).
        dtype: the matrix products' dtype, ``torch.float32`` or ``torch.bfloat16``.
        context: the process's place under torchrun; None or one process: no communication.
    """
    precision_name(dtype)  # refuses other dtypes with a clear message
    for model in (generator, discriminator):
        got = next(model.parameters()).device
        if got.type != device.type:
            raise ValueError(f"expected {type(model).__name__} on {device} (got {got})")
    if context is not None and context.enabled:
        return _data_parallel(_make_step(config, generator, discriminator, dtype=dtype), context)
    return _make_step(config, generator, discriminator, dtype=dtype)


def _data_parallel(step: Step, context: DistributedContext) -> Step:
    """``step`` with each of its two optimisers averaging its gradients over the ranks before stepping."""
    if step.info.kind not in ("reference", "imagenet"):
        raise UserError(f"the {step.info.kind} step does not run under torchrun; set fast_step=false")
    if step.info.kind == "reference":  # the whole-batch parts over the global batch (ImageNet keeps its towers)
        step.use_global_batch(context)
    for optimizer in step.optimizers():
        average_gradients_before_step(optimizer, context)
    return step


def _make_step(config: TrainConfig, generator: nn.Module, discriminator: nn.Module, *, dtype: torch.dtype) -> Step:
    if config.update == "simultaneous":
        return ImageNetStep(config, generator, discriminator, dtype=dtype)
    if config.fast_step:
        fast = build_step(config, generator, discriminator, dtype=dtype)
        if fast is not None:
            return fast
        step = ReferenceStep(config, generator, discriminator, dtype=dtype)
        step.info = StepInfo(
            "reference", dtype, "fast_step=true, but the fast step does not implement this configuration"
        )
        return step
    return ReferenceStep(config, generator, discriminator, dtype=dtype)
