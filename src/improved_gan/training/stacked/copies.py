"""One copy of a stack, built exactly as a single run builds its seed.

:func:`build_copy` repeats the single trainer's start (training/trainer.py,
``Trainer.__init__``): seed the global torch generator with ``config.seed``,
build G and D, initialise weight norm from data (the single run's evaluation
discriminator is a copy of D, which draws nothing). It returns the networks and
every random stream the copy goes on with: the NumPy generator of its batch
order and a torch generator in the state the global one had when the single
run's first step began (its z stream). The caller's global generator is left
as it was.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from improved_gan.config import TrainConfig
from improved_gan.data import labeled_subset
from improved_gan.training.build import build_models, initialise_models
from improved_gan.training.experiment_data import ExperimentData

__all__ = ["RunCopy", "build_copy", "labeled_indices_for"]


@dataclass
class RunCopy:
    """What one seed of a stack starts from (what a single run holds after its initialisation)."""

    config: TrainConfig                 # the copy's config (its seed and data seed)
    generator: nn.Module                # initialised G
    discriminator: nn.Module            # initialised D
    numpy_rng: np.random.Generator      # batch order (training/batches.py), seeded with config.seed
    latent_rng: torch.Generator         # z stream: the single run's global generator after initialisation
    host_rng_state: torch.Tensor        # the global CPU generator's state then (on CUDA not drawn from again)
    labeled_indices: np.ndarray | None  # [L] the copy's labeled subset (data seed), None in GAN mode


def labeled_indices_for(config: TrainConfig, data: ExperimentData) -> np.ndarray | None:
    """The labeled subset of ``config``'s data seed in ``data``'s training pool (as experiment_data picks it)."""
    if config.mode != "semi-supervised":
        return None
    labels = data.y_unlabeled.cpu().numpy()
    return labeled_subset(labels, config.labels, seed=config.resolved_data_seed, num_classes=data.num_classes)


def build_copy(config: TrainConfig, data: ExperimentData, *, device: torch.device) -> RunCopy:
    """Seed ``config.seed``'s networks and streams, as a single run of ``config`` on ``data`` makes them."""
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(config.seed)
        numpy_rng = np.random.default_rng(config.seed)
        shapes = dict(image_shape=data.image_shape, num_classes=data.num_classes, device=device)
        generator, discriminator = build_models(config, **shapes)
        initialise_models(generator, discriminator, data.x_unlabeled, config)
        latent_rng = torch.Generator(device=device)
        host_rng_state = torch.get_rng_state()
        latent_rng.set_state(torch.cuda.get_rng_state(device) if device.type == "cuda" else host_rng_state)
    labeled = labeled_indices_for(config, data)
    return RunCopy(config, generator, discriminator, numpy_rng, latent_rng, host_rng_state, labeled)
