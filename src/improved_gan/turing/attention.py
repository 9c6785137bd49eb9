"""Attention checks: trials whose answer is known by design, to exclude careless annotators.

Each session of a study made with ``attention_checks = k`` holds, besides its
``per_session`` counted images, ``k`` **attention checks** at positions drawn
at random (the operating system's randomness), of both kinds
(:func:`make_checks`), each made from a real image taken out of the real pool:

* **scrambled** images (answer Generated), about two thirds of the checks: a
  real image cut into a 4 x 4 grid of tiles put back in a random order in
  which no tile keeps its place. Nobody who looks takes one for a photograph
  or a digit, and the start page says that the computer made them;
* **real** images (answer Real), the other third (at least one when ``k >= 2``):
  real images, unchanged.

Both kinds hold exactly a real image's pixels (a scrambled check is a
permutation of one), so no statistic of the pixel values (mean, spread,
histogram, flatness) separates them from each other or from the study's
images; and an annotator who always gives the same answer fails every check
of the other kind. (The checks of studies created before issue 28 were flat
grey squares, all to be answered Generated: a script that spotted flat images,
or anyone who always answered Generated, passed them.)

The checks are ordinary images in the store (kind "generated" for a scrambled
one, "real" for a real one; origin ``attention:scrambled <origin>`` or
``attention:real <origin>``), marked as checks in ``turing_attention_images``;
their votes are stored like any other, flagged as checks, and **never
counted** in any accuracy, interval, curve, per-image table or agreement. A
check is failed when its answer differs from its stored kind.

**Exclusion.** An annotator who failed more than ``attention_max_failures``
checks is excluded from every statistic (all their votes). With the command
line's defaults (6 checks: 4 scrambled, 2 real; at most 1 failure) a random
clicker passes with probability P(at most 1 wrong of 6 fair coins) = 7/64,
about 11%; "always Generated" fails the 2 real checks and "always Real" the 4
scrambled ones, so both are excluded. A careful annotator answers the
scrambled checks right; the real checks cost them what real images cost them
in the study: one who calls a real image real with probability 0.8 fails both
real checks with probability 0.04 (and is then excluded with the defaults).
The results say how many annotators were checked, how many were excluded, and
why (failed checks of answered checks, per excluded annotator).
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

ORIGIN_PREFIX = "attention:"
GRID = 4  # a scrambled check is a GRID x GRID grid of tiles in a new order


def split_checks(n: int) -> tuple[int, int]:
    """``(scrambled, real)`` checks of ``n``: a third real (at least one when ``n >= 2``)."""
    real = max(1, n // 3) if n >= 2 else 0
    return n - real, real


def scramble(image: np.ndarray, rng: random.Random) -> np.ndarray:
    """``image`` ``[H, W, C]`` with its GRID x GRID tiles permuted so that no tile stays in place.

    Rows and columns beyond a multiple of GRID (when H or W is not one) stay
    where they are.
    """
    h, w = image.shape[0] // GRID, image.shape[1] // GRID
    tiles = [image[r * h:(r + 1) * h, c * w:(c + 1) * w] for r in range(GRID) for c in range(GRID)]
    order = list(range(len(tiles)))
    while any(i == j for i, j in enumerate(order)):  # a derangement (about 1 in e tries succeed)
        rng.shuffle(order)
    out = image.copy()
    for k, source in enumerate(order):
        r, c = divmod(k, GRID)
        out[r * h:(r + 1) * h, c * w:(c + 1) * w] = tiles[source]
    return out


def make_checks(real_images: np.ndarray, origins: Sequence[str], rng: random.Random):
    """The checks made from ``real_images`` ``[k, H, W, C]``: ``[(image, is_generated, origin)]``.

    The first :func:`split_checks` ``(k)[0]`` are scrambled (generated), the
    rest unchanged (real).
    """
    scrambled, _ = split_checks(len(real_images))
    checks = []
    for i, (image, origin) in enumerate(zip(real_images, origins)):
        if i < scrambled:
            checks.append((scramble(image, rng), True, f"{ORIGIN_PREFIX}scrambled {origin}"))
        else:
            checks.append((image, False, f"{ORIGIN_PREFIX}real {origin}"))
    return checks


def insert_checks(
    sequence: Sequence[int], check_ids: Sequence[int], rng: random.Random
) -> list[int]:
    """``sequence`` with every id of ``check_ids`` put at a random position (order random too)."""
    checks = list(check_ids)
    rng.shuffle(checks)
    n = len(sequence) + len(checks)
    at = set(rng.sample(range(n), len(checks)))
    counted, drawn = iter(sequence), iter(checks)
    return [next(drawn) if p in at else next(counted) for p in range(n)]


@dataclass(frozen=True)
class AttentionSummary:
    """How the annotators did on the checks, and whom the checks excluded."""

    checks_per_session: int
    max_failures: int
    annotators_checked: int  # annotators who answered at least one check
    failures: dict[int, tuple[int, int]] = field(default_factory=dict)  # excluded: (failed, answered)

    @property
    def excluded(self) -> int:
        return len(self.failures)

    @property
    def reason(self) -> str:
        if not self.checks_per_session:
            return "no attention checks in this study"
        return (f"failed more than {self.max_failures} of the {self.checks_per_session} "
                f"attention checks (images whose answer is known by design)")

    def to_dict(self) -> dict:
        return {
            "checks_per_session": self.checks_per_session,
            "max_failures": self.max_failures,
            "annotators_checked": self.annotators_checked,
            "excluded": self.excluded,
            "reason": self.reason,
            "excluded_annotators": [
                {"annotator": sid, "failed": failed, "answered_checks": answered}
                for sid, (failed, answered) in sorted(self.failures.items())
            ],
        }


def apply_checks(votes, *, checks_per_session: int, max_failures: int):
    """``(counted votes, summary)``: check votes dropped, excluded annotators' votes dropped.

    ``votes`` are :class:`improved_gan.turing.store.VoteRow` (``attention`` marks a check).
    """
    answered: dict[int, int] = defaultdict(int)
    failed: dict[int, int] = defaultdict(int)
    for v in votes:
        if v.attention:
            answered[v.session_id] += 1
            failed[v.session_id] += v.said_generated != v.is_generated
    excluded = {sid: (failed[sid], answered[sid]) for sid in answered if failed[sid] > max_failures}
    counted = [v for v in votes if not v.attention and v.session_id not in excluded]
    return counted, AttentionSummary(checks_per_session, max_failures, len(answered), excluded)
