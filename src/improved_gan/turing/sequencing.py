"""Each annotator's sequence and feedback arm: kinds drawn independently, nothing to count.

Every position of a sequence holds a generated image with probability 1/2,
independently of every other position (a fair coin from the operating
system's randomness). How many generated images a session holds is therefore
random and unknown to the annotator, and whatever they have seen or been told
so far says nothing about the next image: an annotator who does not look at
the images (who counts, alternates, or copies the feedback) is right with
probability exactly 1/2 at every position. The paper's "50% real and 50%
fake" holds in expectation. (An exactly balanced session would let an
annotator in the feedback arm count the kinds left and beat chance: issue 18
measured 57.5% for that strategy over 50-image sessions.)

An image appears at most once in a sequence, and a person gets one sequence
per invitation (:mod:`improved_gan.turing.invitations`), so nobody sees an
image twice. Within each kind the images shown least so far come first (ties
broken at random), so over many annotators every image collects about as many
votes, which the per-image statistics need. Each kind's pool must hold at
least ``per_session`` images, since a session may (rarely) draw a single kind.

Feedback arms are fixed when invitations are made (:func:`assign_arms`), so
an annotator cannot choose one by starting again. In a study with both arms
each arm draws from its own half of each pool (:func:`arm_images`): an image
whose kind a feedback page revealed is never shown in the arm without
feedback, so a key learned there is worthless where HYPE-infinity is measured.
"""

from __future__ import annotations

import random
from typing import Mapping, Sequence

from improved_gan.turing import security

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


def draw_kinds(n: int, rng: random.Random | None = None) -> list[bool]:
    """``n`` independent fair coins: True where the position holds a generated image."""
    rng = rng or _system_random
    return [rng.random() < 0.5 for _ in range(n)]


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
        real_ids, generated_ids: the study's images of each kind; each at least
            ``per_session`` long.
        per_session: length of the sequence.
        exposures: how many sequences already hold each image (absent = 0).
        rng: source of randomness; the default is the OS's (unpredictable).
            Tests pass a seeded :class:`random.Random`.

    Returns:
        ``per_session`` distinct ids; position ``p`` holds a generated image iff
        the ``p``-th of :func:`draw_kinds`'s coins came up True.
    """
    if per_session < 1:
        raise ValueError(f"per_session must be >= 1 (got {per_session})")
    rng = rng or _system_random
    kinds = draw_kinds(per_session, rng)
    n_generated = sum(kinds)
    picks = {
        True: least_shown(generated_ids, n_generated, exposures, rng),
        False: least_shown(real_ids, per_session - n_generated, exposures, rng),
    }
    for chosen in picks.values():
        rng.shuffle(chosen)  # least_shown's order is by exposure; the sequence must not be
    return [picks[kind].pop() for kind in kinds]


def arm_images(image_ids: Sequence[int], feedback: bool, *, key_hex: str, per_session: int) -> list[int]:
    """The images of one kind that sessions of one feedback arm draw from.

    The kind's images, ordered by an HMAC of their id under the study's key (a
    split nobody outside the server can reproduce), are cut in two halves: the
    first for the feedback arm, the rest (the odd one included) for the arm
    without. A half smaller than ``per_session`` (a study created before arms
    had their own images) gives way to the whole pool.
    """
    ordered = sorted(image_ids, key=lambda i: security.sign(key_hex, "arm", str(i)))
    half = len(ordered) // 2
    mine = ordered[:half] if feedback else ordered[half:]
    return mine if len(mine) >= per_session else list(image_ids)


def assign_arms(mode: str, n: int, rng: random.Random | None = None) -> list[bool]:
    """Feedback arms of ``n`` new invitations (True = with feedback).

    ``"on"``/``"off"`` fix it; ``"random"`` gives each arm half of the batch
    (the odd one out by a coin) in a random order, so the arms stay level and
    an invitation's arm cannot be guessed from its place in the batch.
    """
    if mode == "on":
        return [True] * n
    if mode == "off":
        return [False] * n
    if mode != "random":
        raise ValueError(f"unknown feedback mode {mode!r}")
    rng = rng or _system_random
    arms = [True] * (n // 2) + [False] * (n // 2)
    if n % 2:
        arms.append(rng.random() < 0.5)
    rng.shuffle(arms)
    return arms
