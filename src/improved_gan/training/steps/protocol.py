"""What a training step is: the contract between the loop and the update rules.

A step owns the optimisers, the EMA of D and the historical averages of one
run, and performs one iteration's updates (Section 5's discriminator update,
then the generator's). It knows nothing of epochs, files or logging; the
trainer (:mod:`improved_gan.training.trainer`) knows nothing of how a step
computes. Steps are made by :func:`improved_gan.training.steps.make_step`.
"""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass
from typing import Any, Callable, ContextManager, Protocol, runtime_checkable

import torch
from torch import Tensor, nn

__all__ = ["Step", "StepInfo", "autocast_for", "precision_name"]


def precision_name(dtype: torch.dtype) -> str:
    """The config's name of a compute dtype: ``"fp32"`` or ``"bf16"``."""
    names = {torch.float32: "fp32", torch.bfloat16: "bf16"}
    if dtype not in names:
        raise ValueError(f"expected a compute dtype of torch.float32 or torch.bfloat16 (got {dtype})")
    return names[dtype]


def autocast_for(dtype: torch.dtype, model: nn.Module) -> Callable[[], ContextManager]:
    """A zero-argument factory of the context in which ``model``'s products run in ``dtype``:
    a no-op for float32, ``torch.autocast`` on the model's device type for bfloat16."""
    precision_name(dtype)  # refuses any other dtype
    if dtype == torch.float32:
        return contextlib.nullcontext
    device_type = next(model.parameters()).device.type
    return functools.partial(torch.autocast, device_type=device_type, dtype=dtype)


@dataclass(frozen=True)
class StepInfo:
    """Which step runs, as data (recorded in every metrics row and in the checkpoint).

    Attributes:
        kind: ``"reference"`` (autograd, :mod:`~improved_gan.training.steps.reference`)
            or ``"fast"`` (the fused mnist-fm step, :mod:`~improved_gan.training.steps.fast`).
        compute_dtype: the dtype of the matrix products (float32 or bfloat16); master
            weights, optimiser state and losses are float32 in every step.
        detail: how it runs, for people (e.g. "native kernels"), or why a requested
            step does not apply.
    """

    kind: str
    compute_dtype: torch.dtype
    detail: str = ""

    @property
    def precision(self) -> str:
        return precision_name(self.compute_dtype)

    def record(self) -> dict[str, str]:
        """``{"step": kind, "precision": "fp32" | "bf16"}``: the fields a resumed run must keep."""
        return {"step": self.kind, "precision": self.precision}

    def describe(self) -> str:
        return f"{self.kind} step, {self.precision}" + (f" ({self.detail})" if self.detail else "")


@runtime_checkable
class Step(Protocol):
    """One training iteration's updates, and the state that carries them from one to the next.

    Shapes: ``x_unl, x_lab, x_real [B, C, H, W]`` (or ``[B, C*H*W]``), ``y_lab [B]``.
    Returned statistics are detached 0-d tensors (``loss_d``, ``loss_unsup``,
    ``loss_sup``, ``train_errors``, ``loss_g``): the loop reads them now and then,
    so a step never waits on a device.
    """

    info: StepInfo

    def set_lr(self, lr: float) -> None:
        """The learning rate of both optimisers for the next iterations."""

    def discriminator_step(self, x_unl: Tensor, x_lab: Tensor | None, y_lab: Tensor | None) -> dict[str, Tensor]:
        """One update of D on labeled, unlabeled and freshly generated data (Section 5)."""

    def generator_step(self, x_real: Tensor) -> dict[str, Tensor]:
        """The generator's update(s) against real data ``x_real`` (feature matching or a GAN loss)."""

    def average_discriminator_into(self, target: nn.Module) -> None:
        """Write the EMA of D's parameters (and D's buffers) into ``target``, a D of the same shape."""

    def optimizers(self) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
        """``(D's, G's)`` optimisers: what data parallelism hooks to average gradients before a step."""

    def state_dict(self) -> dict[str, Any]:
        """Optimisers, averages: everything but the networks that a resumed step needs."""

    def load_state_dict(self, state: dict[str, Any]) -> None: ...
