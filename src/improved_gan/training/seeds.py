"""Every random stream a run derives from its seed, in one place.

A run's seed (``TrainConfig.seed``) seeds PyTorch's global generator (the
initialisation, z and the noise layers) and the NumPy generator of the batch
order. Samples drawn *for looking* (the per-epoch grid, the scores during and at
the end of training) come from generators of their own, seeded with
``seed + offset``, so that they neither consume the training's random numbers
nor change when the run is resumed. The offsets are fixed for good: they decide
which z every existing run folder's grids and scores used.
"""

from __future__ import annotations

import torch

__all__ = ["STREAM_OFFSETS", "stream_generator", "stream_seed"]

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
    return torch.Generator().manual_seed(stream_seed(seed, stream))
