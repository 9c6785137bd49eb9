"""Data-parallel training on ``torch.distributed``, launched by ``torchrun``.

``torchrun --nproc-per-node N -m improved_gan train PRESET ...`` starts N
copies of the ordinary command; each reads ``RANK``, ``WORLD_SIZE`` and
``LOCAL_RANK`` from its environment (:func:`init_from_environment`) and joins
one process group: NCCL when the run's device is CUDA (one GPU per process,
``cuda:LOCAL_RANK``), gloo on CPU. ``IMPROVED_GAN_DIST_BACKEND=gloo|nccl``
overrides the choice; NCCL without a GPU is refused with one line. Without
``WORLD_SIZE`` (or with 1) nothing here does anything and training is the
single-process program, bit for bit.

What each rank does (docs/distributed.md):

- **Data**: ``batch_size`` is the global batch; every rank draws the same global
  batch order and keeps its ``1/N`` slice (:meth:`DistributedContext.shard`),
  so N ranks see together exactly what one process would.
- **Random numbers**: the networks are built from the run's seed on every rank
  and then broadcast from rank 0 (:meth:`~DistributedContext.broadcast_module`,
  which also makes virtual batch norm's reference latents identical); z, the
  noise layers and dropout come from a per-rank stream reseeded every epoch
  from ``(seed, epoch, rank)`` (:func:`rank_seed`).
- **Gradients**: averaged over the ranks just before each optimiser step, one
  flattened ``all_reduce`` per optimiser (:func:`average_gradients_before_step`),
  so G's and D's are reduced separately. Not ``DistributedDataParallel``: the
  steps call D several times per backward (labeled, unlabeled and generated
  batches apart when D mixes examples) and the ImageNet step takes D's and G's
  gradients from one forward pass with ``torch.autograd.grad``; both break
  DDP's one-forward-one-backward contract, while a reduction at the optimiser
  sees exactly the gradients the step computed. Identical gradients, identical
  optimisers and identical starting points keep the parameters, the EMA and
  the historical averages identical on every rank with no further traffic.
- **The whole batch**: where the method is defined over the batch (G's batch
  norm, feature matching's means, minibatch features) the reference step
  computes it over every rank's rows (:mod:`improved_gan.training.global_batch`),
  so N ranks of ``B/N`` compute what one process of B computes; the ImageNet
  step keeps the authors' per-tower batches.
- **Writing**: only rank 0 writes (checkpoints, metrics, logs, sample grids);
  every rank reads the same checkpoint on resume, with any world size.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterable

import numpy as np
import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors

from improved_gan.errors import ConfigError, UserError
from improved_gan.training.device import resolve_device

__all__ = [
    "BACKEND_VARIABLE",
    "DistributedContext",
    "average_gradients_before_step",
    "current",
    "init_from_environment",
    "rank_seed",
    "shutdown",
]

BACKEND_VARIABLE = "IMPROVED_GAN_DIST_BACKEND"
"""Environment variable choosing the process group's backend: ``auto`` (default), ``nccl`` or ``gloo``."""


@dataclass(frozen=True)
class DistributedContext:
    """This process's place in the job: ``rank`` of ``world_size``, on local device ``local_rank``."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None  # None: a single process, no process group

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that writes the run folder and talks to the terminal."""
        return self.rank == 0

    def describe(self) -> str:
        return f"rank {self.rank} of {self.world_size} ({self.backend})" if self.enabled else "one process"

    # -- checks ------------------------------------------------------------------------
    def check_batch(self, batch_size: int) -> None:
        """The global batch must split evenly over the ranks (a ConfigError otherwise)."""
        if batch_size % self.world_size:
            raise ConfigError(
                f"batch_size {batch_size} (the global batch) does not divide over {self.world_size} processes; "
                f"choose a multiple of {self.world_size}, e.g. {max(1, batch_size // self.world_size) * self.world_size}"
            )

    def local_device(self, device: torch.device) -> torch.device:
        """``cuda:LOCAL_RANK`` for a CUDA run under torchrun (one GPU per process), else ``device``."""
        if not self.enabled or device.type != "cuda":
            return device
        if self.local_rank >= torch.cuda.device_count():
            raise UserError(
                f"LOCAL_RANK {self.local_rank} has no GPU: this machine has {torch.cuda.device_count()}; "
                "start at most that many processes per node (torchrun --nproc-per-node)"
            )
        return torch.device("cuda", self.local_rank)

    # -- data --------------------------------------------------------------------------
    def shard(self, rows: np.ndarray) -> np.ndarray:
        """This rank's contiguous ``1/world_size`` of a global batch's rows (``[B, ...]`` -> ``[B/N, ...]``)."""
        if not self.enabled:
            return rows
        per_rank = len(rows) // self.world_size
        return rows[self.rank * per_rank : (self.rank + 1) * per_rank]

    # -- communication -----------------------------------------------------------------
    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    @torch.no_grad()
    def broadcast_module(self, module: nn.Module) -> None:
        """Every parameter and buffer of ``module`` from rank 0 (e.g. VBN's reference latents), once."""
        if not self.enabled:
            return
        for tensor in [*module.parameters(), *module.buffers()]:
            dist.broadcast(tensor.data, src=0)

    def mean(self, values: Tensor) -> Tensor:
        """The mean of ``values`` over the ranks (a float tensor, the same shape on every rank)."""
        if not self.enabled:
            return values
        values = values.clone()
        dist.all_reduce(values)
        return values / self.world_size

    @torch.no_grad()
    def average_gradients(self, params: Iterable[nn.Parameter]) -> None:
        """Replace each ``p.grad`` by its mean over the ranks: one flattened all-reduce.

        Parameters without a gradient are left out; the graph is the same on
        every rank, so the same ones are left out everywhere.
        """
        if not self.enabled:
            return
        grads = [p.grad for p in params if p.grad is not None]
        if not grads:
            return
        flat = _flatten_dense_tensors(grads)  # [sum of sizes]
        dist.all_reduce(flat)
        flat /= self.world_size
        for grad, reduced in zip(grads, _unflatten_dense_tensors(flat, grads)):
            grad.copy_(reduced)


def average_gradients_before_step(optimizer: torch.optim.Optimizer, context: DistributedContext):
    """Average ``optimizer``'s gradients over the ranks before each of its steps (a pre-step hook).

    Returns the hook's handle (``.remove()`` takes it off); None for a single process.
    """
    if not context.enabled:
        return None

    def hook(opt: torch.optim.Optimizer, args, kwargs) -> None:
        context.average_gradients(p for group in opt.param_groups for p in group["params"])

    return optimizer.register_step_pre_hook(hook)


def rank_seed(seed: int, epoch: int, rank: int) -> int:
    """The torch seed of ``rank``'s random stream (z, noise layers) in ``epoch``: distinct per rank and epoch,
    and a function of them only, so a resume with any world size draws the same numbers as a fresh run with it."""
    return int(np.random.SeedSequence([seed, epoch, rank]).generate_state(1, np.uint64)[0] % (2**63))


# -- the process group ------------------------------------------------------------------

_current = DistributedContext()


def current() -> DistributedContext:
    """The context :func:`init_from_environment` made, else a single process."""
    return _current


def _environment_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise UserError(f"${name}={value!r} is not an integer (torchrun sets it; check the launcher)") from None


def _backend(device: torch.device) -> str:
    wanted = os.environ.get(BACKEND_VARIABLE, "auto").lower()
    if wanted not in ("auto", "nccl", "gloo"):
        raise UserError(f"${BACKEND_VARIABLE}={wanted!r}: expected auto, nccl or gloo")
    if wanted == "auto":
        wanted = "nccl" if device.type == "cuda" else "gloo"
    if wanted == "nccl" and not torch.cuda.is_available():
        raise UserError(
            "the NCCL backend needs CUDA GPUs and this machine has none; train on CPU with "
            f"{BACKEND_VARIABLE}=gloo (and --device cpu)"
        )
    if wanted == "nccl" and device.type != "cuda":
        raise UserError(f"the NCCL backend needs device cuda (the run asks for {device}); use {BACKEND_VARIABLE}=gloo")
    return wanted


def init_from_environment(device_name: str = "auto") -> DistributedContext:
    """Join the job torchrun started (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``/``PORT``).

    With ``WORLD_SIZE`` unset or 1, returns the single-process context and
    starts nothing. ``device_name`` is the run's config value (``auto``, ``cpu``,
    ``cuda``): CUDA runs use NCCL and one GPU per process, CPU runs gloo.
    Calling it again returns the context already made.
    """
    global _current
    if _current.enabled:
        return _current
    world_size = _environment_int("WORLD_SIZE", 1)
    if world_size <= 1:
        return _current
    rank, local_rank = _environment_int("RANK", 0), _environment_int("LOCAL_RANK", 0)
    backend = _backend(resolve_device(device_name))
    if backend == "nccl":
        torch.cuda.set_device(local_rank)
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, init_method="env://", rank=rank, world_size=world_size)
    _current = DistributedContext(rank=rank, world_size=world_size, local_rank=local_rank, backend=backend)
    return _current


def shutdown() -> None:
    """Leave the process group (at the end of a run); the context becomes a single process again."""
    global _current
    if _current.enabled and dist.is_initialized():
        dist.destroy_process_group()
    _current = DistributedContext()
