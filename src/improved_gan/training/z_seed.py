"""The seed of a generator's z, as torch's generators take it: an unsigned 64-bit integer.

Light to import (no torch): ``improved-gan sample`` and ``score`` refuse a bad ``--seed`` before torch is
imported (docs/cli.md, Start-up); :mod:`improved_gan.training.sampling` checks it again for library callers
through the same function.
"""

from __future__ import annotations

from improved_gan.errors import UserError

MAX_SEED = 2**64 - 1
"""The largest seed of z (``torch.Generator.manual_seed`` takes an unsigned 64-bit seed)."""


def check_seed(seed: int, flag: str = "--seed") -> int:
    """``seed`` if torch's generator takes it, else a UserError naming ``flag``."""
    if not 0 <= seed <= MAX_SEED:
        raise UserError(f"{flag} must be an integer in 0..{MAX_SEED:,} (got {seed})")
    return seed
