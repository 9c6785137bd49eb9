"""Every random stream a run derives from its seed, in one place.

A run's seed (``TrainConfig.seed``) seeds PyTorch's global generator (the
initialisation, z and the noise layers) and the NumPy generator of the batch
order. Samples drawn *for looking* (the per-epoch grid, the scores during and at
the end of training) come from generators of their own, seeded with
``seed + offset``, so that they neither consume the training's random numbers
nor change when the run is resumed. The offsets are fixed for good: they decide
which z every existing run folder's grids and scores used. Samples drawn from a
finished run (``improved-gan sample``, ``score``) take their seed from the user:
:func:`check_sample_seed`.

Light to import (torch only inside :func:`stream_generator`): ``sample`` and
``score`` refuse a bad ``--seed`` before torch is imported (docs/cli.md, Start-up).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from improved_gan.errors import UserError

if TYPE_CHECKING:
    import torch

__all__ = ["MAX_SAMPLE_SEED", "STREAM_OFFSETS", "check_sample_seed", "stream_generator", "stream_seed"]

STREAM_OFFSETS = {
    "sample-grid": 7_919,  # the z of every epoch's sample grid (a prime)
    "final-scores": 7_920,  # the end-of-run samples (the grid's offset + 1, as since the first release)
    "epoch-scores": 104_729,  # the samples scored every k epochs: the same z every epoch
}


def stream_seed(seed: int, stream: str) -> int:
    """``seed + STREAM_OFFSETS[stream]``; an unknown stream raises KeyError naming the known ones."""
    if stream not in STREAM_OFFSETS:
        raise KeyError(f"unknown random stream {stream!r}; known: {sorted(STREAM_OFFSETS)}")
    return seed + STREAM_OFFSETS[stream]


def stream_generator(seed: int, stream: str) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded for ``stream`` of the run with ``seed``."""
    import torch  # off the start-up path of the commands that check a seed (module docstring)

    return torch.Generator().manual_seed(stream_seed(seed, stream))


MAX_SAMPLE_SEED = 2**64 - 1
"""The largest seed of samples drawn from a run's generator (``torch.Generator.manual_seed`` takes an unsigned
64-bit seed)."""


def check_sample_seed(seed: int, flag: str = "--seed") -> int:
    """``seed`` if torch's generator takes it, else a UserError naming ``flag``."""
    if not 0 <= seed <= MAX_SAMPLE_SEED:
        raise UserError(f"{flag} must be an integer in 0..{MAX_SAMPLE_SEED:,} (got {seed})")
    return seed
