"""Creating a study: images written once under opaque names, the answer key in the store.

:func:`create_study` takes the images as arrays (an :class:`ImagePool` per kind);
:mod:`improved_gan.turing.sources` builds pools from folders, ``.npz`` files,
dataset names and training runs. The study is assembled in a hidden temporary
folder beside the target and renamed into place at the end, so a crash leaves
either no study or a whole one; with an external database the study's rows are
removed again if the folder cannot be put in place. Staging folders that an
earlier crashed ``create`` left behind (older than a day) are removed first.
"""

from __future__ import annotations

import contextlib
import random
import shutil
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.exc import SQLAlchemyError

from improved_gan.errors import ConfigError, DataError, UserError
from improved_gan.turing import attention, security
from improved_gan.turing.config import (
    MANIFEST_FORMAT,
    StudyFolder,
    StudyOptions,
    options_dict,
)
from improved_gan.turing.database import default_url
from improved_gan.metrics.images import check_images
from improved_gan.turing.images import write_png
from improved_gan.turing.store import NewImage, Store
from improved_gan.utils.atomic import atomic_write_json
from improved_gan.utils.out_paths import check_folder_path


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


STAGING_MARK = ".creating-"
STALE_STAGING_S = 24 * 3600
# Pools more unequal than this show the smaller pool's images this many times
# as often as the larger's; see :func:`pool_warnings`.
MAX_POOL_RATIO = 2.0


def check_new_folder(folder: str | Path) -> Path:
    """``folder`` resolved, if a study can be created there (absent or empty)."""
    folder = Path(folder).resolve()
    check_folder_path(folder, flag="the study folder")
    if folder.exists() and any(folder.iterdir()):
        raise ConfigError(f"{folder} already exists and is not empty; choose a new study folder")
    from improved_gan.training.run_guard import check_outside_runs

    check_outside_runs(folder, flag="the study folder", instead="create the study outside it")
    return folder


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
    if n_real <= tutorial_real or n_generated <= tutorial_generated:
        raise ConfigError(
            f"a tutorial of {options.tutorial} images takes {tutorial_real} real and "
            f"{tutorial_generated} generated images out of the pools, which hold {n_real} and "
            f"{n_generated}; lower --tutorial or add images"
        )
    smaller = min(n_real - tutorial_real, n_generated - tutorial_generated)
    if options.per_session > smaller:
        raise ConfigError(
            f"per_session {options.per_session} needs at least {options.per_session} images of "
            f"each kind (a session's kinds are drawn by coin, so it may hold only one kind), "
            f"but the study has {n_real - tutorial_real} real and "
            f"{n_generated - tutorial_generated} generated (not counting practice images); "
            f"lower per_session to at most {smaller} or add images"
        )


def tutorial_split(n: int) -> tuple[int, int]:
    """``(real, generated)`` practice images of a tutorial of ``n`` (generated get the odd one)."""
    return n // 2, n - n // 2


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
) -> CreatedStudy:
    """Write a new study folder and register the study in the store.

    Args:
        folder: the study folder to create; must not exist yet (or be empty).
        options: slug, title, images per annotator, feedback mode.
        real, generated: the two pools; same image shape.
        database_url: an external store (e.g. ``postgresql+psycopg://...``);
            default: ``turing.sqlite3`` inside the folder.
        progress: a progress bar on stderr while the images are written.

    Returns:
        The folder, slug, counts and the owner's token (printed once, never stored).
    """
    folder = check_new_folder(folder)
    _check_pools(options, real, generated)
    tutorial_real, tutorial_generated = tutorial_split(options.tutorial)
    found = pool_warnings(len(real.images) - tutorial_real,
                          len(generated.images) - tutorial_generated, options.per_session)
    for text in found:
        warnings.warn(text, PoolWarning, stacklevel=2)
    remove_stale_staging(folder)

    staging = folder.parent / f".{folder.name}{STAGING_MARK}{security.new_key()[:12]}"
    store = None
    added = None
    try:
        StudyFolder(staging).images_dir.mkdir(parents=True)
        store = Store.open(database_url or default_url(staging))
        if store.study(options.slug) is not None:
            raise ConfigError(
                f"the database already holds a study named {options.slug!r}; choose another --slug"
            )
        new_images = _write_images(StudyFolder(staging), real, generated, options, progress=progress)
        atomic_write_json(
            StudyFolder(staging).manifest_path,
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
            folder.rmdir()  # empty, checked above
        staging.rename(folder)
    except BaseException as err:
        if added is not None and database_url is not None:  # no orphan in a shared database
            with contextlib.suppress(SQLAlchemyError):  # the original error says more
                store.remove_study(added.id)
        if store is not None:
            store.close()
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(err, OSError):
            raise UserError(f"cannot write the study folder {folder}: {err.strerror or err}; "
                            "check the disk's free space and permissions") from None
        raise
    store.close()
    return CreatedStudy(folder, options.slug, owner_token, len(real.images), len(generated.images),
                        tuple(found))


def remove_stale_staging(folder: Path, *, older_than_s: float = STALE_STAGING_S) -> list[Path]:
    """Remove the staging folders of ``folder`` that a crashed ``create`` left behind.

    Only hidden siblings named ``.<folder name>.creating-<12 hex>`` whose last
    change is older than ``older_than_s`` (so a ``create`` still running is left
    alone) are removed; returns them.
    """
    removed = []
    prefix = f".{folder.name}{STAGING_MARK}"
    if not folder.parent.is_dir():
        return removed
    for candidate in folder.parent.iterdir():
        suffix = candidate.name[len(prefix):]
        if not (candidate.name.startswith(prefix) and len(suffix) == 12
                and all(c in "0123456789abcdef" for c in suffix) and candidate.is_dir()):
            continue
        if time.time() - candidate.stat().st_mtime > older_than_s:
            shutil.rmtree(candidate, ignore_errors=True)
            removed.append(candidate)
    return removed


def _write_images(
    folder: StudyFolder, real: ImagePool, generated: ImagePool, options: StudyOptions, *, progress: bool = False
) -> list[NewImage]:
    """Write every image under a fresh random name, in a random order, same mtime.

    Besides the pools: ``options.attention_checks`` flat grey squares (attention
    checks, kind generated by design), and the tutorial's practice images,
    taken at random out of the pools (their answers are shown to everyone, so
    they never appear in a session) and shown in a random order of kinds.
    ``progress``: a progress bar on stderr, one step per image written.
    """
    from tqdm.auto import tqdm

    rng = random.SystemRandom()
    tutorial_real, tutorial_generated = tutorial_split(options.tutorial)
    practice = {(False, i) for i in rng.sample(range(len(real.images)), tutorial_real)}
    practice |= {(True, i) for i in rng.sample(range(len(generated.images)), tutorial_generated)}
    shape = tuple(int(d) for d in real.images.shape[1:])
    checks = attention.check_images(options.attention_checks, shape)
    entries = [(False, i) for i in range(len(real.images))]
    entries += [(True, i) for i in range(len(generated.images))]
    entries += [(None, i) for i in range(len(checks))]
    rng.shuffle(entries)
    mtime = time.time()
    new_images = []
    for is_generated, i in tqdm(entries, desc="writing study images", unit="image", disable=not progress,
                                leave=False):
        name = security.new_image_name()
        if is_generated is None:  # an attention check
            write_png(folder.image_path(name), checks[i], mtime=mtime)
            new_images.append(NewImage(name, attention.ANSWER_IS_GENERATED,
                                       f"{attention.ORIGIN_PREFIX}grey {int(checks[i].flat[0])}",
                                       role="attention"))
            continue
        pool = generated if is_generated else real
        write_png(folder.image_path(name), pool.images[i], mtime=mtime)
        score = None if pool.scores is None else float(pool.scores[i])
        role = "tutorial" if (is_generated, i) in practice else "study"
        new_images.append(NewImage(name, is_generated, pool.origin(i), score, role=role))
    return new_images  # the tutorial shows its images in this (random) order
