"""Creating a study: images written once under opaque names, the answer key in the store.

:func:`create_study` takes the images as arrays (an :class:`ImagePool` per kind);
:mod:`improved_gan.turing.sources` builds pools from folders, ``.npz`` files,
dataset names and training runs. The study is assembled in a hidden temporary
folder beside the target and renamed into place at the end, so a crash leaves
either no study or a whole one.
"""

from __future__ import annotations

import random
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from improved_gan.errors import ConfigError, DataError
from improved_gan.turing import security
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


def check_new_folder(folder: str | Path) -> Path:
    """``folder`` resolved, if a study can be created there (absent or empty)."""
    folder = Path(folder).resolve()
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ConfigError(f"{folder} already exists and is not empty; choose a new study folder")
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
    half = options.per_session // 2
    smaller = min(len(real.images), len(generated.images))
    if half > smaller:
        raise ConfigError(
            f"per_session {options.per_session} needs {half} real and {half} generated images, "
            f"but the study has {len(real.images)} real and {len(generated.images)} generated; "
            f"lower per_session to at most {2 * smaller} or add images"
        )


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
) -> CreatedStudy:
    """Write a new study folder and register the study in the store.

    Args:
        folder: the study folder to create; must not exist yet (or be empty).
        options: slug, title, images per annotator, feedback mode.
        real, generated: the two pools; same image shape.
        database_url: an external store (e.g. ``postgresql+psycopg://...``);
            default: ``turing.sqlite3`` inside the folder.

    Returns:
        The folder, slug, counts and the owner's token (printed once, never stored).
    """
    folder = check_new_folder(folder)
    _check_pools(options, real, generated)

    staging = folder.parent / f".{folder.name}.creating-{security.new_key()[:12]}"
    store = None
    try:
        StudyFolder(staging).images_dir.mkdir(parents=True)
        store = Store.open(database_url or default_url(staging))
        if store.study(options.slug) is not None:
            raise ConfigError(
                f"the database already holds a study named {options.slug!r}; choose another --slug"
            )
        new_images = _write_images(StudyFolder(staging), real, generated)
        atomic_write_json(
            StudyFolder(staging).manifest_path,
            _manifest(options, real, generated, database_url is not None),
        )
        owner_token = security.new_token()
        store.add_study(
            options,
            image_shape=tuple(int(d) for d in real.images.shape[1:]),
            images=new_images,
            csrf_key=security.new_key(),
            owner_token_hash=security.hash_token(owner_token),
        )
        store.close()
        store = None
        if folder.exists():
            folder.rmdir()  # empty, checked above
        staging.rename(folder)
    except BaseException:
        if store is not None:
            store.close()
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return CreatedStudy(folder, options.slug, owner_token, len(real.images), len(generated.images))


def _write_images(folder: StudyFolder, real: ImagePool, generated: ImagePool) -> list[NewImage]:
    """Write every image under a fresh random name, in a random order, same mtime."""
    entries = [(False, i) for i in range(len(real.images))]
    entries += [(True, i) for i in range(len(generated.images))]
    random.SystemRandom().shuffle(entries)
    mtime = time.time()
    new_images = []
    for is_generated, i in entries:
        pool = generated if is_generated else real
        name = security.new_image_name()
        write_png(folder.image_path(name), pool.images[i], mtime=mtime)
        score = None if pool.scores is None else float(pool.scores[i])
        new_images.append(NewImage(name, is_generated, pool.origin(i), score))
    return new_images
