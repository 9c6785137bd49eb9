"""Small image pools and invited studies for study tests."""

from __future__ import annotations

from contextlib import contextmanager
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
    records each vote (``kinds``: image name -> is generated, attention checks included). Returns
    the session ids."""
    import random

    from sqlalchemy import select

    from improved_gan.turing import schema

    rng = random.Random(seed)
    with store.engine.connect() as conn:
        kinds = dict(conn.execute(select(schema.images.c.name, schema.images.c.is_generated)
                                  .where(schema.images.c.study_id == study.id)).all())
    ids = []
    for session, annotator in zip(claimed_sessions(store, study, len(annotators), rng), annotators):
        ids.append(session.id)
        while (trial := store.current_trial(session.id)) is not None:
            vote(rng, session, trial, kinds, annotator)
    return ids


def shown_kinds(created: CreatedStudy, session_token: str, *, database_url: str | None = None,
                practice_only: bool = False) -> dict:
    """The image tokens one session's browser sees -> is generated (what only the store knows).

    Each session sees an image under its own token (position ``p`` of the
    sequence; practice image ``i`` under ``-1 - i``), so the truth of what a
    scripted annotator was shown is looked up through its session.
    """
    from sqlalchemy import select

    from improved_gan.turing import schema, security

    store = Store.open(database_url or default_url(created.folder))
    try:
        study = store.study(created.slug)
        token_hash = security.hash_token(session_token)
        session = store.session(study.id, token_hash)
        T, I = schema.trials, schema.images
        with store.engine.connect() as conn:
            rows = conn.execute(select(T.c.position, I.c.is_generated).join(I, I.c.id == T.c.image_id)
                                .where(T.c.session_id == session.id)).all()
        shown = {} if practice_only else {
            security.image_token(study.csrf_key, token_hash, p): g for p, g in rows}
        for i, (_, is_generated) in enumerate(store.tutorial_images(study.id)):
            shown[security.image_token(study.csrf_key, token_hash, -1 - i)] = is_generated
        return shown
    finally:
        store.close()


@contextmanager
def stored_study(tmp_path, options, n: int):
    """``(store, study)`` of a new study of ``study_pools(n)``, its folder on memory-backed
    /dev/shm where there is one (fsync is free there, so simulated votes are fast)."""
    import os
    import shutil
    import tempfile
    import warnings
    from pathlib import Path

    from improved_gan.turing.create import PoolWarning, create_study

    shm = Path("/dev/shm")
    folder = Path(tempfile.mkdtemp(dir=shm)) if shm.is_dir() and os.access(shm, os.W_OK) else tmp_path
    real, generated = study_pools(n)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PoolWarning)
            created = create_study(folder / options.slug, options, real=real, generated=generated)
        store = Store.open(default_url(created.folder))
        try:
            yield store, store.study(options.slug)
        finally:
            store.close()
    finally:
        if folder != tmp_path:
            shutil.rmtree(folder)
