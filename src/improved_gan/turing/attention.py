"""Attention checks: trials whose answer is known by design, to exclude careless annotators.

Each session of a study made with ``attention_checks = k`` holds, besides its
``per_session`` counted images, ``k`` **attention checks** at positions drawn
at random (the operating system's randomness): flat grey squares of the
study's image size, made by the app (:func:`check_images`). The start page
tells annotators that plain grey squares are made by the computer and must be
answered "Generated", so a careful annotator answers every check right, while
one who clicks without looking answers each right with probability 1/2.

The checks are ordinary images in the store (kind "generated", origin
``attention:grey <level>``), marked as checks in ``turing_attention_images``;
their votes are stored like any other, flagged as checks, and **never counted**
in any accuracy, interval, curve, per-image table or agreement.

**Exclusion.** An annotator who failed more than ``attention_max_failures``
checks is excluded from every statistic (all their votes). With the command
line's defaults (6 checks, at most 1 failure) a random clicker passes with
probability P(at most 1 wrong of 6 fair coins) = 7/64, about 11%, so about 89%
of random clickers are excluded, and a careful annotator who slips once is kept.
The results say how many annotators were checked, how many were excluded, and
why (failed checks of answered checks, per excluded annotator).

Each check image is a single flat grey level, different per check, so no
session shows the same check twice; the PNG files are uncompressed like every
other image, so their size says nothing.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

ANSWER_IS_GENERATED = True  # the known answer of every check, by design
LEVELS = (96, 160)  # the grey levels of the checks lie in this range
ORIGIN_PREFIX = "attention:"


def check_images(n: int, shape: tuple[int, int, int]) -> np.ndarray:
    """``n`` flat grey squares ``[n, H, W, C]`` uint8, each of its own grey level."""
    levels = np.linspace(LEVELS[0], LEVELS[1], max(n, 1)).round().astype(np.uint8)[:n]
    return np.broadcast_to(levels[:, None, None, None], (n, *shape)).copy()


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
                f"attention checks (plain grey squares, to be answered Generated)")

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
            failed[v.session_id] += v.said_generated != ANSWER_IS_GENERATED
    excluded = {sid: (failed[sid], answered[sid]) for sid in answered if failed[sid] > max_failures}
    counted = [v for v in votes if not v.attention and v.session_id not in excluded]
    return counted, AttentionSummary(checks_per_session, max_failures, len(answered), excluded)
