"""Samples from a trained run's generator, as uint8 images.

The one way every tool (``improved-gan sample``, ``score``, the human study)
reads a run's generator: rebuild it from the run's config, load the weights of
the last checkpoint, draw z from a seeded generator, map to uint8.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from improved_gan.config import LR_FIELDS, load_config
from improved_gan.errors import UserError
from improved_gan.models import Generator
from improved_gan.runs.checkpoint import load_checkpoint
from improved_gan.training.device import resolve_device
from improved_gan.training.pixels import to_uint8
from improved_gan.training.seeds import check_sample_seed
from improved_gan.runs.layout import CONFIG
from improved_gan.training.checkpoint_fit import check_matches_checkpoint, load_checkpoint_networks
from improved_gan.utils.eval_mode import eval_mode
from improved_gan.utils.progress import bars_shown


def load_generator(run_dir: str | Path, *, device: torch.device | str | None = None) -> tuple[nn.Module, str]:
    """The run's generator (eval mode) and its pixel scale."""
    run_dir = Path(run_dir)
    config = load_config(run_dir / CONFIG)
    device = device if isinstance(device, torch.device) else resolve_device(device)
    state = load_checkpoint(run_dir, map_location=device)
    check_matches_checkpoint(run_dir, config, state, allow=LR_FIELDS)  # e.g. an edited latent_dim
    generator, _ = load_checkpoint_networks(run_dir, config, state, device=device)
    return generator.eval(), config.pixel_scale



@torch.no_grad()
def generate_images(
    generator: Generator, n: int, *, scale: str, seed: int = 0, batch_size: int = 100, progress: bool = False
) -> np.ndarray:
    """``n`` samples of ``generator`` (in eval mode, restored after) as uint8 ``[n, H, W, C]``.

    z is drawn on the CPU from a generator seeded by ``seed``, so the samples do
    not depend on the device or on the global random state. The batches are
    ``batch_size`` images, the last one folded into the one before when it
    would hold a lone image: most generators here normalise over their batch
    (batch statistics), which one image cannot give. ``n = 1`` from such a
    generator is a UserError.
    """
    if n <= 0:
        raise ValueError(f"expected a positive number of samples (got {n})")
    rng = torch.Generator().manual_seed(check_sample_seed(seed))
    chunks = []
    with eval_mode(generator):
        for size in tqdm(batch_sizes(n, batch_size), desc="sampling", disable=not bars_shown(progress), leave=False):
            z = generator.sample_latent(size, generator=rng)
            try:
                chunks.append(to_uint8(generator(z), scale))
            except ValueError as err:
                if size != 1:
                    raise
                raise UserError(f"this generator cannot draw a lone image ({err}); ask for 2 or more") from None
    return np.concatenate(chunks)


def batch_sizes(n: int, batch_size: int) -> list[int]:
    """``n`` split into batches of ``batch_size`` (at least 2), none of one image unless ``n`` is 1.

    >>> batch_sizes(201, 100)
    [100, 101]
    """
    batch_size = max(batch_size, 2)
    sizes = [batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size else [])
    if len(sizes) > 1 and sizes[-1] == 1:
        sizes[-2:] = [sizes[-2] + 1]
    return sizes


def sample_images(
    run_dir: str | Path,
    n: int,
    *,
    seed: int = 0,
    batch_size: int = 100,
    device: torch.device | str | None = None,
    progress: bool = True,
) -> np.ndarray:
    """``n`` samples of the run's generator as uint8 ``[n, H, W, C]``, reproducible by ``seed``."""
    if n <= 0:
        raise ValueError(f"expected a positive number of samples (got {n})")
    generator, scale = load_generator(run_dir, device=device)
    return generate_images(generator, n, scale=scale, seed=seed, batch_size=batch_size, progress=progress)
