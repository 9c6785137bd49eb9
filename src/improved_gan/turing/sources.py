"""Image pools from the sources a user names: folders, ``.npz`` files, datasets, runs.

Reading the sources is :func:`improved_gan.image_sources.load_images`'s job; this
module adds what a study needs on top: provenance strings and, for generated
images, the selection of the top fraction by a per-image score
(:mod:`improved_gan.turing.selection`).
"""

from __future__ import annotations

import os
from pathlib import Path

from improved_gan.image_sources import load_images
from improved_gan.turing.create import ImagePool
from improved_gan.turing.selection import ScoreSource, check_selection, resolve_scores, top_fraction_indices


def _describe(scores: ScoreSource) -> str:
    if isinstance(scores, (str, os.PathLike)):
        return os.fspath(scores)
    if callable(scores):
        return getattr(scores, "__name__", "a score function")
    return "an array"


def load_pool(
    source: str,
    *,
    n: int | None = None,
    seed: int = 0,
    data_dir: str | Path | None = None,
    top_fraction: float | None = None,
    scores: ScoreSource | None = None,
    progress: bool = False,
) -> ImagePool:
    """Load ``n`` images (all when None) from ``source``, optionally keeping the best-scored.

    Args:
        source: anything :func:`~improved_gan.image_sources.load_images` resolves.
        n: how many candidates to load; with ``top_fraction`` the pool is smaller.
        seed: which ``n`` images (or which generator samples) are drawn.
        data_dir: where datasets named by ``source`` live.
        top_fraction: keep only this fraction of the candidates, best scores first.
        scores: the per-image scores (array, ``.npy`` path or callable), one per
            loaded candidate and in their order: a file must have been computed on
            exactly the images this call loads (same source, ``n`` and ``seed``).
        progress: a progress bar on stderr while a run's generator draws the images.
    """
    check_selection(top_fraction, scores)
    images = load_images(source, n=n, seed=seed, data_dir=data_dir, progress=progress)
    details: dict = {"requested": n, "seed": seed}
    if scores is None:
        return ImagePool(images, source=source, details=details)
    values = resolve_scores(scores, images)
    keep = top_fraction_indices(values, top_fraction)
    details.update(
        candidates=int(len(images)),
        top_fraction=top_fraction,
        scores=_describe(scores),
        min_kept_score=float(values[keep].min()),
    )
    return ImagePool(
        images[keep],
        source=source,
        origins=tuple(f"{source}[{int(i)}]" for i in keep),
        scores=values[keep],
        details=details,
    )
