"""Each annotator's sequence: balanced, random, non-repeating; and the feedback arm.

An annotator judges ``per_session`` images, exactly half of them real and half
generated (the paper's "50% real and 50% fake"), each at most once, in an order
drawn from the operating system's randomness so that neither the annotator nor
anyone else can predict which positions hold generated images.

Within each kind the images shown least so far come first (ties broken at
random), so that over many annotators every image collects about as many votes,
which the per-image statistics need. Exposure counts are read when a session
starts; sessions starting at the same instant may pick the same image, which
only makes the spread of votes slightly less even.
"""

from __future__ import annotations

import random
from typing import Mapping, Sequence

_system_random = random.SystemRandom()


def least_shown(
    image_ids: Sequence[int], k: int, exposures: Mapping[int, int], rng: random.Random
) -> list[int]:
    """The ``k`` images of ``image_ids`` shown least so far, ties broken at random."""
    if k > len(image_ids):
        raise ValueError(f"cannot pick {k} distinct images from {len(image_ids)}")
    keyed = [(exposures.get(i, 0), rng.random(), i) for i in image_ids]
    keyed.sort()
    return [i for _, _, i in keyed[:k]]


def draw_sequence(
    real_ids: Sequence[int],
    generated_ids: Sequence[int],
    *,
    per_session: int,
    exposures: Mapping[int, int],
    rng: random.Random | None = None,
) -> list[int]:
    """An annotator's image ids in viewing order.

    Args:
        real_ids, generated_ids: the study's images of each kind.
        per_session: length of the sequence; even, at most twice the smaller pool.
        exposures: how many sequences already hold each image (absent = 0).
        rng: source of randomness; the default is the OS's (unpredictable).
            Tests pass a seeded :class:`random.Random`.

    Returns:
        ``per_session`` distinct ids, ``per_session / 2`` of each kind, shuffled.
    """
    if per_session % 2:
        raise ValueError(f"per_session must be even (got {per_session})")
    rng = rng or _system_random
    half = per_session // 2
    sequence = least_shown(real_ids, half, exposures, rng) + least_shown(
        generated_ids, half, exposures, rng
    )
    rng.shuffle(sequence)
    return sequence


def choose_feedback(
    mode: str, *, with_feedback: int, without_feedback: int, rng: random.Random | None = None
) -> bool:
    """Whether a new annotator gets feedback.

    ``"on"``/``"off"`` fix it; ``"random"`` puts the annotator in the smaller arm
    (given how many sessions each arm has), at random when they are level.
    """
    if mode == "on":
        return True
    if mode == "off":
        return False
    if mode != "random":
        raise ValueError(f"unknown feedback mode {mode!r}")
    if with_feedback != without_feedback:
        return with_feedback < without_feedback
    return (rng or _system_random).random() < 0.5
