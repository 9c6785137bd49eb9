"""Small image pools for study tests."""

from __future__ import annotations

import numpy as np

from improved_gan.turing.create import ImagePool


def study_pools(n: int = 12, *, shape=(8, 8, 3)) -> tuple[ImagePool, ImagePool]:
    """Real images of noise and smooth 'generated' ones: compressed, their sizes would differ."""
    rng = np.random.default_rng(0)
    real = rng.integers(0, 256, (n, *shape), dtype=np.uint8)
    ramp = np.linspace(0, 255, shape[0] * shape[1]).reshape(shape[0], shape[1], 1)
    generated = np.broadcast_to(ramp, (n, *shape)).astype(np.uint8).copy()
    generated[:, 0, 0, :] = np.arange(n)[:, None]  # all distinct
    return ImagePool(real, source="noise"), ImagePool(generated, source="ramp")
