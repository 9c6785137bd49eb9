"""A run's samples as files: one PNG grid, a folder of PNGs, or an ``.npz`` of uint8 arrays (``improved-gan sample``).

:class:`SampleFiles` is what one call writes: where, in which format (the one asked for, else the one the
path implies: ``.png`` a grid, ``.npz`` arrays, no suffix a folder), and how many images. It refuses, one
line each, a count the format cannot hold and (:meth:`SampleFiles.check_out`) a path whose writing would
replace a user's file or a run's own; :meth:`SampleFiles.write` writes the images atomically. Light to
import (no torch, no PIL until it writes): ``improved-gan sample`` refuses a bad flag at once (docs/cli.md,
Start-up).
"""

from __future__ import annotations

import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from improved_gan.config import MAX_SAMPLE_GRID
from improved_gan.errors import UserError
from improved_gan.runs.guard import enclosing_run
from improved_gan.runs.out_rules import check_out_file, check_out_folder
from improved_gan.utils.atomic import atomic_open

MAX_SAMPLES = 1_000_000
"""The most images one call draws (they are held in memory: 784 MB of MNIST digits)."""

FORMATS = ("grid", "png-folder", "npz")
IMPLIED = {".png": "grid", ".npz": "npz", "": "png-folder"}
"""The format a path's suffix implies."""


@dataclass(frozen=True)
class SampleFiles:
    """``n`` images to write at ``out`` in ``format`` (one of :data:`FORMATS`; None: the one ``out`` implies).

    ``overwrite``: an existing file of the user's may be replaced (never a folder, never a run's own file).
    """

    out: Path
    n: int = 100
    format: str | None = None
    overwrite: bool = False

    def __post_init__(self) -> None:
        if self.n <= 0:
            raise UserError(f"--n must be positive (got {self.n})")
        implied = IMPLIED.get(self.out.suffix.lower())
        if self.format is None and implied is None:
            raise UserError(f"--out must be FILE.png, FILE.npz or a FOLDER without a suffix (got {self.out})")
        if self.format is not None and implied is not None and self.format != implied:
            raise UserError(f"--format {self.format} does not fit --out {self.out} (that names a {implied})")
        object.__setattr__(self, "format", self.format or implied)
        if self.format == "grid" and self.n > MAX_SAMPLE_GRID:
            raise UserError(
                f"a PNG grid holds at most {MAX_SAMPLE_GRID:,} images (got --n {self.n:,}); for more, write "
                f"--out FILE.npz or --out FOLDER (one PNG per image)"
            )
        if self.n > MAX_SAMPLES:
            raise UserError(
                f"at most {MAX_SAMPLES:,} images per call (got --n {self.n:,}: they are held in memory); "
                "run several calls with different --seed"
            )

    def check_out(self) -> None:
        """Nothing is overwritten: a file only with ``overwrite``; a png-folder must be new or empty; nothing goes
        inside a run folder, and a run's own file is never replaced."""
        _refuse_a_runs_own_file(self.out)
        if self.format == "png-folder":
            check_out_folder(self.out, instead="write the samples outside it")
            if self.out.exists() and any(self.out.iterdir()):
                raise UserError(f"--out {self.out} exists and is not an empty folder; name a new folder (nothing "
                                "was written)")
            return
        kind = f".{'png' if self.format == 'grid' else 'npz'} file"
        if self.out.is_file() and not self.overwrite:
            raise UserError(f"--out {self.out} exists; name a new {kind}, or add --overwrite to replace it "
                            "(nothing was written)")
        check_out_file(self.out, ours=lambda path: self.overwrite, what=kind, outside="write the samples outside it")

    def write(self, images: np.ndarray) -> None:
        """Write ``images`` (uint8 ``[n, H, W, C]``) in the format."""
        from improved_gan.utils.image_grid import save_grid  # PIL: once there is something to write

        if self.format == "grid":
            save_grid(images, self.out)
        elif self.format == "npz":
            with atomic_open(self.out, "wb") as f:
                np.savez_compressed(f, x=images)
        else:
            _write_folder(images, self.out)


def _refuse_a_runs_own_file(out: Path) -> None:
    """A file inside a run folder (its config.json, metrics, checkpoints, sample grids) is the run's: never replaced,
    even with --overwrite (``--out RUN/config.json --format npz --overwrite`` destroyed the run). A new one is
    refused too: the run holds only what its trainer writes, which a resume would write over
    (``--out RUN/samples/epoch-0003.png``, then ``train --resume RUN --epochs 3``, lost the samples)."""
    run = enclosing_run(out)
    if run is not None and (out.exists() or out.is_symlink()) and not out.is_dir():
        raise UserError(f"--out {out} is a file of the run {run}; --overwrite never replaces a run's own files. "
                        "Name a new file (nothing was written)")


def _write_folder(images: np.ndarray, folder: Path) -> None:
    """One PNG per image, ``000000.png`` ...; written into a hidden folder, then renamed into place."""
    from PIL import Image  # this format's own writer (imported when it writes, as save_grid)

    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".partial", dir=folder.parent))
    width = max(6, len(str(len(images) - 1)))
    for i, image in enumerate(images):
        buffer = io.BytesIO()
        Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(buffer, format="PNG")
        (staging / f"{i:0{width}d}.png").write_bytes(buffer.getvalue())
    if folder.is_dir():
        folder.rmdir()  # checked empty before the images were drawn
    os.replace(staging, folder)
