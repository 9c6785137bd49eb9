"""Small image pools and invited studies for study tests."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from improved_gan.turing.create import CreatedStudy, ImagePool
from improved_gan.turing.database import default_url
from improved_gan.turing.store import Store


def study_pools(n: int = 12, *, shape=(8, 8, 3)) -> tuple[ImagePool, ImagePool]:
    """Real images of noise and smooth 'generated' ones: compressed, their sizes would differ."""
    rng = np.random.default_rng(0)
    real = rng.integers(0, 256, (n, *shape), dtype=np.uint8)
    ramp = np.linspace(0, 255, shape[0] * shape[1]).reshape(shape[0], shape[1], 1)
    generated = np.broadcast_to(ramp, (n, *shape)).astype(np.uint8).copy()
    generated[:, 0, 0, :] = np.arange(n)[:, None]  # all distinct
    return ImagePool(real, source="noise"), ImagePool(generated, source="ramp")


@dataclass(frozen=True)
class InvitedStudy(CreatedStudy):
    """A created study with invitation codes; :meth:`code` hands out the next unused one."""

    codes: list = field(default_factory=list)
    database_url: str | None = None

    def code(self) -> str:
        return self.codes.pop(0)


def invite(created: CreatedStudy, n: int, *, database_url: str | None = None,
           labels=None) -> list[str]:
    """``n`` invitation codes of ``created`` (labels: one per code, or None)."""
    store = Store.open(database_url or default_url(created.folder))
    try:
        return store.add_invitations(store.study(created.slug), labels or [None] * n)
    finally:
        store.close()


def claimed_sessions(store: Store, study, n: int, rng):
    """``n`` sessions of ``study``, each opened by claiming a new invitation (seeded ``rng``)."""
    from improved_gan.turing import security

    codes = store.add_invitations(study, [None] * n, rng=rng)
    return [store.claim_invitation(study, security.hash_token(code),
                                   token_hash=security.hash_token(security.new_token()), rng=rng)
            for code in codes]


def simulate(store: Store, study, annotators, *, seed: int, vote) -> list[int]:
    """One session per annotator, trial by trial; ``vote(rng, session, trial, kinds, annotator)``
    records each vote (``kinds``: image name -> is generated). Returns the session ids."""
    import random

    rng = random.Random(seed)
    kinds = {im.name: im.is_generated for im in store.images(study.id)}
    ids = []
    for session, annotator in zip(claimed_sessions(store, study, len(annotators), rng), annotators):
        ids.append(session.id)
        while (trial := store.current_trial(session.id)) is not None:
            vote(rng, session, trial, kinds, annotator)
    return ids
