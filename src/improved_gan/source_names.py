"""What the string a user types as an image source names, told from the file system alone (no torch, no PIL).

``improved-gan score SOURCE`` and ``turing create --real/--generated`` take a run folder, a folder of images, an
``.npz`` file or a dataset name (:mod:`improved_gan.image_sources` reads them). Which of these a string names, and
whether it can name any (a missing file, a file of another type, a run without a checkpoint), is known before
anything is read, so a command says it before it imports torch (docs/cli.md, Start-up); so is a number of images
asked of it that is not positive (:func:`check_image_count`).
"""

from __future__ import annotations

import os
from pathlib import Path

from improved_gan.errors import UserError
from improved_gan.runs.layout import CHECKPOINTS, CONFIG, METRICS, lost_its_config

__all__ = ["check_image_count", "describe_source", "is_run_folder"]


def check_image_count(n: int | None, name: str = "the number of images") -> int | None:
    """``n``, the images asked of a source (None: all of them), if it is positive; else a UserError naming it
    ``name`` (a flag: ``--n-real``)."""
    if n is not None and n <= 0:
        raise UserError(f"{name} must be positive (got {n})")
    return n


def is_run_folder(path: str | os.PathLike) -> bool:
    """A training run folder: a directory holding ``config.json`` and ``checkpoints/``."""
    path = Path(path)
    return (path / CONFIG).is_file() and (path / CHECKPOINTS).is_dir()


def describe_source(source: str) -> str:
    """What kind of source ``source`` is: ``"run"``, ``"folder"``, ``"npz"`` or ``"dataset"`` (a registered
    dataset ``NAME[:SPLIT]``, its name and split checked here)."""
    if not source.strip():
        raise UserError("the image source is empty; name a run folder, an image folder, an .npz or a dataset")
    path = Path(source).expanduser()
    if path.is_dir():
        if (path / CONFIG).is_file() and not (path / CHECKPOINTS).is_dir():  # its plots are no images to score
            raise UserError(f"{source} is a run folder without {CHECKPOINTS}/: it has not finished an epoch (or "
                            "its checkpoints were moved), so it has no generator to sample yet")
        if lost_its_config(path):
            raise UserError(f"{source} holds a run's {CHECKPOINTS}/ and {METRICS} but no {CONFIG}: a damaged run "
                            f"folder, not a folder of images; put its {CONFIG} back to use it")
        return "run" if is_run_folder(path) else "folder"
    if path.is_file():
        if path.suffix.lower() != ".npz":
            got = path.suffix or "no suffix"
            raise UserError(f"{source}: a file source must be an .npz of uint8 images (got {got})")
        return "npz"
    if os.sep in source or path.suffix:
        raise UserError(f"{source}: no such file or folder")
    from improved_gan.data.registry import dataset_spec, parse_dataset_source  # numpy: only for a dataset name

    try:
        dataset_spec(*parse_dataset_source(source))
    except UserError as err:
        raise UserError(f"{source}: no such file or folder, and {err}") from None
    return "dataset"
