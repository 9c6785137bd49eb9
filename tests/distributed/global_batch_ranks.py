"""N ranks x B/N against 1 x B: the computation each spawned rank (and the single process) runs.

For each case (a preset with its noise off, in float64), :func:`train_case` builds
the networks as the Trainer does (seeded build, weight norm's data-dependent
initialisation on the whole init batch, then rank 0's values broadcast), makes
the step through :func:`~improved_gan.training.steps.make_step` with this
process's context, and takes ``STEPS`` iterations on fixed global batches and a
fixed sequence of global z batches, of which this process keeps its rows
(:meth:`DistributedContext.shard`). It returns the networks, the EMA and the
historical averages: with a single-process context the same function is the
one-process run of batch B.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import torch
from torch import nn

from improved_gan.config import TrainConfig
from improved_gan.experiments.presets import get_preset
from improved_gan.layers import GaussianNoise
from improved_gan.training import distributed
from improved_gan.training.build import build_models, initialise_models
from improved_gan.training.distributed import DistributedContext
from improved_gan.training.steps import make_step

BATCH = 8  # the global batch: 4 rows per rank of two
STEPS = 3
TRAIN_EXAMPLES = 32

# Each case: a preset and what shrinks it (narrow CIFAR D, a small init batch); the method is the preset's.
CASES: dict[str, dict] = {
    "mnist-fm": {},
    "cifar10-fm": {"d_widths": (8, 16)},
    "mnist-mbd": {"minibatch_kernels": 6, "minibatch_kernel_dim": 3, "historical_averaging": 0.1},
}


def case_config(name: str) -> TrainConfig:
    return dataclasses.replace(
        get_preset(name), **CASES[name], batch_size=BATCH, init_batch_size=16, device="cpu", precision="fp32"
    ).validate()


def noise_off(model: nn.Module) -> None:
    """Every Gaussian noise layer at std 0 and every dropout at p 0 (the rest of training mode kept)."""
    for module in model.modules():
        if isinstance(module, GaussianNoise):
            module.std = 0.0
        elif isinstance(module, nn.Dropout):
            module.p = 0.0


def _images(config: TrainConfig, count: int, generator: torch.Generator) -> torch.Tensor:
    shape = (1, 28, 28) if config.architecture == "mnist-mlp" else (3, 32, 32)
    x = torch.rand(count, *shape, generator=generator, dtype=torch.float64)
    return x if config.architecture == "mnist-mlp" else x * 2 - 1


def train_case(name: str, context: DistributedContext) -> dict[str, dict[str, torch.Tensor]]:
    """``STEPS`` iterations of case ``name`` on this process's rows of the global batches; the states after."""
    config = case_config(name)
    data = torch.Generator().manual_seed(7)
    x_train = _images(config, TRAIN_EXAMPLES, data)
    torch.manual_seed(config.seed)
    shape = tuple(x_train.shape[1:])
    generator, discriminator = build_models(config, image_shape=shape, num_classes=10, device=torch.device("cpu"))
    generator.double(), discriminator.double()
    noise_off(discriminator)
    initialise_models(generator, discriminator, x_train, config)
    for model in (generator, discriminator):
        context.broadcast_module(model)
    step = make_step(config, generator, discriminator, device=torch.device("cpu"), dtype=torch.float32,
                     context=context)

    rows = torch.from_numpy(context.shard(torch.arange(BATCH).numpy()))
    latents = torch.Generator().manual_seed(11)
    prior = type(generator).sample_latent

    def sample_latent(n: int, **_) -> torch.Tensor:  # this process's rows of the next global z batch
        assert n == len(rows)
        return prior(generator, BATCH, generator=latents).double()[rows]

    generator.sample_latent = sample_latent
    for _ in range(STEPS):
        index = torch.randint(0, TRAIN_EXAMPLES, (3, BATCH), generator=data)
        labels = torch.randint(0, 10, (BATCH,), generator=data)
        x_lab, x_unl, x_real = (x_train[i][rows] for i in index)
        step.discriminator_step(x_unl, x_lab, labels[rows])
        step.generator_step(x_real)
    states = {"generator": generator.state_dict(), "discriminator": discriminator.state_dict(),
              "ema": step.ema.state_dict()}
    if step.ha_d is not None:
        states.update({name: {str(i): a for i, a in enumerate(average.state_dict()["averages"])}
                       for name, average in (("ha_d", step.ha_d), ("ha_g", step.ha_g))})
    return {part: {k: v.detach().clone() for k, v in state.items() if torch.is_tensor(v)}
            for part, state in states.items()}


def run_rank(rank: int, world_size: int, port: int, out_dir: str) -> None:
    """Every case on this rank, saved to ``out_dir/rank{rank}.pt``."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE=str(world_size), LOCAL_RANK=str(rank), OMP_NUM_THREADS="1")
    torch.set_num_threads(1)
    context = distributed.init_from_environment("cpu")
    results = {name: train_case(name, context) for name in CASES}
    torch.save(results, Path(out_dir) / f"rank{rank}.pt")
    distributed.shutdown()
