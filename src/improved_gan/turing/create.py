"""Creating a study: images written once under opaque names, the answer key in the store.

:func:`create_study` takes the images as arrays (an :class:`ImagePool` per kind);
:mod:`improved_gan.turing.sources` builds pools from folders, ``.npz`` files,
dataset names and training runs. The study is assembled in a hidden temporary
folder beside the target and renamed into place at the end, so a crash leaves
either no study or a whole one; with an external database the study's rows are
removed again if the folder cannot be put in place. A ``create`` that stops
(an error, Ctrl-C, SIGTERM) says so at once and leaves the removal of its staging
folder to a process of its own; staging folders that a killed ``create`` left
behind are removed at the next start, once provably abandoned
(:mod:`improved_gan.turing.staging`). One ``create`` of a study folder at a
time: a second is refused in one line, naming the process at work
(``config.creating``).
"""

from __future__ import annotations

import contextlib
import errno
import math
import random
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm
from sqlalchemy.exc import SQLAlchemyError

from improved_gan.errors import ConfigError, DataError, UserError
from improved_gan.turing import attention, security, staging
from improved_gan.turing.config import (
    MANIFEST_FORMAT,
    StudyFolder,
    StudyOptions,
    check_new_folder,
    check_planned_sessions,
    creating,
    options_dict,
)
from improved_gan.turing.database import default_url, sqlite_file, storage_full, store_file
from improved_gan.metrics.images import check_images
from improved_gan.turing.images import write_png
from improved_gan.turing.store import NewImage, Store
from improved_gan.utils.atomic import atomic_write_json


@dataclass(frozen=True)
class ImagePool:
    """The images of one kind (real or generated) for a study.

    Args:
        images: ``[N, H, W, C]`` uint8, C = 1 or 3.
        origins: one provenance string per image (owner-only, e.g. ``"cifar10[17]"``);
            default ``"<source>[i]"``.
        scores: ``[N]`` selection scores, kept for the per-image statistics.
        source: where the images came from, recorded in ``study.json``.
        details: more provenance for ``study.json`` (counts, seed, selection).
    """

    images: np.ndarray
    source: str = "array"
    origins: tuple[str, ...] | None = None
    scores: np.ndarray | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def origin(self, i: int) -> str:
        return self.origins[i] if self.origins is not None else f"{self.source}[{i}]"


@dataclass(frozen=True)
class CreatedStudy:
    folder: Path
    slug: str
    owner_token: str  # shown once; the store keeps only its hash
    n_real: int
    n_generated: int
    warnings: tuple[str, ...] = ()


class PoolWarning(UserWarning):
    """A study that works but whose pools let repetition give answers away."""


# Pools more unequal than this show the smaller pool's images this many times
# as often as the larger's; see :func:`pool_warnings`.
MAX_POOL_RATIO = 2.0


def _check_pools(options: StudyOptions, real: ImagePool, generated: ImagePool) -> None:
    check_images(real.images, what=f"real images ({real.source})")
    check_images(generated.images, what=f"generated images ({generated.source})")
    if real.images.shape[1:] != generated.images.shape[1:]:
        raise DataError(
            f"real and generated images must have the same height, width and channels, or "
            f"annotators could tell them apart by size (real {tuple(real.images.shape[1:])}, "
            f"generated {tuple(generated.images.shape[1:])})"
        )
    for pool in (real, generated):
        if pool.origins is not None and len(pool.origins) != len(pool.images):
            raise DataError(f"{pool.source}: {len(pool.origins)} origins for {len(pool.images)} images")
    n_real, n_generated = len(real.images), len(generated.images)
    tutorial_real, tutorial_generated = tutorial_split(options.tutorial)
    checks = options.attention_checks
    if n_real <= tutorial_real + checks or n_generated <= tutorial_generated:
        raise ConfigError(
            f"a tutorial of {options.tutorial} images and {checks} attention checks take "
            f"{tutorial_real + checks} real and {tutorial_generated} generated images out of the "
            f"pools, which hold {n_real} and {n_generated}; lower --tutorial or "
            "--attention-checks, or add images"
        )
    n_real, n_generated = counted_pools(options, n_real, n_generated)
    arms = 2 if options.feedback == "random" else 1
    smaller = min(n_real, n_generated) // arms
    if options.per_session > smaller:
        each = " in each feedback arm (each arm has its own half of each pool)" if arms == 2 else ""
        raise ConfigError(
            f"per_session {options.per_session} needs at least {options.per_session} images of "
            f"each kind{each} (a session's kinds are drawn by coin, so it may hold only one kind), "
            f"but the study has {n_real} real and {n_generated} generated (not counting practice "
            f"images and attention checks); lower per_session to at most {smaller} or add images"
        )


def tutorial_split(n: int) -> tuple[int, int]:
    """``(real, generated)`` practice images of a tutorial of ``n`` (generated get the odd one)."""
    return n // 2, n - n // 2


def counted_pools(options: StudyOptions, n_real: int, n_generated: int) -> tuple[int, int]:
    """``(real, generated)`` images left for sessions once practice images and checks are taken out."""
    tutorial_real, tutorial_generated = tutorial_split(options.tutorial)
    return n_real - tutorial_real - options.attention_checks, n_generated - tutorial_generated


def recurrence_problem(options: StudyOptions, n_real: int, n_generated: int,
                       planned_sessions: int) -> str | None:
    """Why ``planned_sessions`` would show feedback-arm images again after their kind was told; or None.

    A feedback page tells an annotator the kind of the image they judged. If
    that image is shown to another annotator of the feedback arm, whoever
    judged it first can tell them the answer (by describing it: the server
    never reveals a stable name). Sessions take a kind's least-shown images
    first, so that never happens while the feedback arm's sessions have not
    used up its images: ``sessions x per_session / 2`` showings per kind
    against that arm's pool of each kind. (The arm without feedback may show
    its images many times: nothing there tells a kind.)

    ``n_real``, ``n_generated``: the pools as given (practice images and checks included).
    """
    arm_sessions = {"on": planned_sessions, "random": planned_sessions / 2, "off": 0}[options.feedback]
    if not arm_sessions:
        return None
    pool = min(counted_pools(options, n_real, n_generated))
    arm_pool = pool // 2 if options.feedback == "random" else pool
    if arm_pool < options.per_session:
        return None  # too small for a session at all: the pool check says so
    showings = arm_sessions * options.per_session / 2 / arm_pool
    if showings <= 1.0:
        return None
    needed = math.ceil(arm_sessions * options.per_session / 2) * (2 if options.feedback == "random" else 1)
    return (f"{planned_sessions} sessions of {options.per_session} would show each image of the "
            f"feedback arm about {showings:.1f} times, so later annotators could be told the kind "
            f"of an image by earlier ones, whose feedback page showed it; use at least {needed} "
            f"images of each kind (besides practice images and checks), fewer sessions or "
            f"per_session, or --feedback off")


def pool_warnings(n_real: int, n_generated: int, per_session: int) -> list[str]:
    """Why these pool sizes may let annotators recognise answers; empty when they do not.

    Each annotator sees each image at most once, but sessions take a kind's
    least-shown images, so over a study an image of a pool of size ``N`` is
    shown about ``votes / (2 N)`` times. When one pool is much smaller, its
    images recur much more often, and anyone who takes part twice or compares
    notes with another annotator can answer by recognition ("seen before, so
    generated").
    """
    found = []
    small, large = sorted((n_real, n_generated))
    if small * MAX_POOL_RATIO < large:
        kind = "real" if n_real < n_generated else "generated"
        found.append(
            f"the {kind} pool ({small} images) is {large / small:.1f}x smaller than the other "
            f"({large}): its images will be shown {large / small:.1f}x as often, so annotators "
            f"who take part twice or compare notes can recognise them; use pools of similar size"
        )
    if small < 2 * per_session:
        found.append(
            f"{small} images of a kind for {per_session} per session: the same images recur "
            f"in almost every session; use at least {2 * per_session} of each kind"
        )
    return found


def _manifest(options: StudyOptions, real: ImagePool, generated: ImagePool, external_db: bool):
    def describe(pool: ImagePool) -> dict[str, Any]:
        return {"source": pool.source, "count": int(len(pool.images)), **pool.details}

    return {
        "format": MANIFEST_FORMAT,
        "options": options_dict(options),
        "image_shape": list(real.images.shape[1:]),
        "real": describe(real),
        "generated": describe(generated),
        "database": "external (pass its URL with --database)" if external_db else "turing.sqlite3",
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def create_study(
    folder: str | Path,
    options: StudyOptions,
    *,
    real: ImagePool,
    generated: ImagePool,
    database_url: str | None = None,
    progress: bool = False,
    planned_sessions: int | None = None,
    allow_recurring_images: bool = True,
) -> CreatedStudy:
    """Write a new study folder and register the study in the store.

    Args:
        folder: the study folder to create; must not exist yet (or be empty).
        options: slug, title, images per annotator, feedback mode.
        real, generated: the two pools; same image shape.
        database_url: an external store (e.g. ``postgresql+psycopg://...``);
            default: ``turing.sqlite3`` inside the folder.
        progress: a progress bar on stderr while the images are written.
        planned_sessions: how many annotators the owner means to invite (at
            least 1); with it, a :class:`PoolWarning` says when the feedback arm
            would show an image again after its kind was told (:func:`recurrence_problem`).
        allow_recurring_images: False: such pools are a ConfigError instead of a
            warning, before anything is written.

    Returns:
        The folder, slug, counts and the owner's token (printed once, never stored).
    """
    folder = check_new_folder(folder)
    _check_pools(options, real, generated)
    found = _pool_warnings(options, real, generated, planned_sessions, refuse_recurring=not allow_recurring_images)
    for text in found:
        warnings.warn(text, PoolWarning, stacklevel=2)
    with creating(folder):  # one create of a study at a time: a second is refused in one line
        check_new_folder(folder)  # again under the lock: a create that held it a moment ago may have made it
        staging.remove_abandoned(folder)
        owner_token = _assemble(folder, options, real, generated, database_url=database_url, progress=progress)
    return CreatedStudy(folder, options.slug, owner_token, len(real.images), len(generated.images),
                        tuple(found))


def _pool_warnings(options: StudyOptions, real: ImagePool, generated: ImagePool,
                   planned_sessions: int | None, *, refuse_recurring: bool) -> list[str]:
    """What the pools let annotators give away: :func:`pool_warnings`, and :func:`recurrence_problem` when
    planned (with ``refuse_recurring``, a ConfigError)."""
    found = pool_warnings(*counted_pools(options, len(real.images), len(generated.images)),
                          options.per_session)
    if planned_sessions is None:
        return found
    recurring = recurrence_problem(options, len(real.images), len(generated.images),
                                   check_planned_sessions(planned_sessions))
    if recurring and refuse_recurring:
        raise ConfigError(f"{recurring}; or add --allow-recurring-images (nothing was written)")
    return found + ([recurring] if recurring else [])


def _assemble(folder: Path, options: StudyOptions, real: ImagePool, generated: ImagePool, *,
              database_url: str | None, progress: bool) -> str:
    """Build the study in a staging folder, register it, rename it to ``folder`` (undone on any error); its token.

    On a failure or an interruption the staging folder goes in the background (:func:`staging.discard`), and the
    error says so: a disk or database failure in its one line, any other error in a note (which the command
    line prints for an interruption)."""
    path = staging.staging_name(folder, security.new_key()[:12])
    lock = made = store = added = None
    try:
        lock = staging.make_staging(path)
        made = True
        StudyFolder(path).images_dir.mkdir()
        store = Store.open(database_url or default_url(path))
        if store.study(options.slug) is not None:
            raise ConfigError(
                f"the database already holds a study named {options.slug!r}; choose another --slug"
            )
        new_images = _write_images(StudyFolder(path), real, generated, options, progress=progress)
        atomic_write_json(
            StudyFolder(path).manifest_path,
            _manifest(options, real, generated, database_url is not None),
        )
        owner_token = security.new_token()
        added = store.add_study(
            options,
            image_shape=tuple(int(d) for d in real.images.shape[1:]),
            images=new_images,
            csrf_key=security.new_key(),
            owner_token_hash=security.hash_token(owner_token),
        )
        if folder.exists():
            folder.rmdir()  # empty: check_new_folder saw to it (written into since: _storage_failure says so)
        store.close()
        staging.release(path, lock, folder)
    except BaseException as err:
        if added is not None and database_url is not None:  # no orphan in a shared database
            with contextlib.suppress(SQLAlchemyError):  # the original error says more
                store.remove_study(added.id)
        if store is not None:
            store.close()
        said = staging.discard(path, lock, folder) if made else None
        problem = _storage_failure(err, folder, database_url)
        if problem is not None:
            raise UserError(problem + (f"; {said}" if said else "")) from None
        if said:
            err.add_note(said)
        raise
    return owner_token


def _storage_failure(err: BaseException, folder: Path, database_url: str | None) -> str | None:
    """One line for a disk or database failure while ``folder`` was assembled (None for another error): a full
    disk is named as such, and ``--database`` only when one was given."""
    fix = "free some space there, or create the study on another disk (nothing was created)"
    if isinstance(err, OSError):
        if err.errno in (errno.ENOTEMPTY, errno.EEXIST):  # the folder, empty at the start, is not any more
            return (f"something wrote into {folder} while the study was being made, so it cannot become the study "
                    "(nothing was created); choose a new study folder")
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            return f"the disk holding {folder.parent} is full ({err.strerror}); {fix}"
        return (f"cannot write the study folder {folder}: {err.strerror or err}; check that {folder.parent} "
                "is writable (nothing was created)")
    if not (isinstance(err, SQLAlchemyError) and storage_full(err, store_file(database_url, folder))):
        return None
    cause = str(getattr(err, "orig", None) or err).strip().splitlines()[0]
    if database_url is None:  # the study's own SQLite file, in the staging folder beside ``folder``
        return f"the disk holding {folder.parent} is full ({cause}); {fix}"
    path = sqlite_file(database_url)
    if path is not None:
        return (f"the disk holding the --database file {path} is full ({cause}); free some space there, or "
                "give --database a file on another disk (nothing was created)")
    return (f"the --database server is out of disk space ({cause}); free some space on it, or give another "
            "--database (nothing was created)")


def _write_images(
    folder: StudyFolder, real: ImagePool, generated: ImagePool, options: StudyOptions, *, progress: bool = False
) -> list[NewImage]:
    """Write every image under a fresh random name, in a random order, same mtime.

    Taken at random out of the pools: the tutorial's practice images (their
    answers are shown to everyone, so they never appear in a session; shown in
    a random order of kinds), and ``options.attention_checks`` real images from
    which the attention checks are made (scrambled or unchanged; see
    :mod:`improved_gan.turing.attention`).
    ``progress``: a progress bar on stderr, one step per image written.
    """
    rng = random.SystemRandom()
    tutorial_real, tutorial_generated = tutorial_split(options.tutorial)
    taken = rng.sample(range(len(real.images)), tutorial_real + options.attention_checks)
    practice = {(False, i) for i in taken[:tutorial_real]}
    practice |= {(True, i) for i in rng.sample(range(len(generated.images)), tutorial_generated)}
    made_from = taken[tutorial_real:]
    checks = attention.make_checks(real.images[made_from], [real.origin(i) for i in made_from], rng)
    used_for_checks = set(made_from)
    entries = [(False, i) for i in range(len(real.images)) if i not in used_for_checks]
    entries += [(True, i) for i in range(len(generated.images))]
    entries += [(None, i) for i in range(len(checks))]
    rng.shuffle(entries)
    mtime = time.time()
    new_images = []
    for is_generated, i in tqdm(entries, desc="writing study images", unit="image", disable=not progress,
                                leave=False):
        name = security.new_image_name()
        if is_generated is None:  # an attention check
            image, answer, origin = checks[i]
            write_png(folder.image_path(name), image, mtime=mtime)
            new_images.append(NewImage(name, answer, origin, role="attention"))
            continue
        pool = generated if is_generated else real
        write_png(folder.image_path(name), pool.images[i], mtime=mtime)
        score = None if pool.scores is None else float(pool.scores[i])
        role = "tutorial" if (is_generated, i) in practice else "study"
        new_images.append(NewImage(name, is_generated, pool.origin(i), score, role=role))
    return new_images  # the tutorial shows its images in this (random) order
