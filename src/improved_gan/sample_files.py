"""A run's samples as files: one PNG grid, a folder of PNGs, or an ``.npz`` of uint8 arrays (``improved-gan sample``).

:class:`SampleFiles` is what one call writes: where, in which format (the one asked for, else the one the
path implies: ``.png`` a grid, ``.npz`` arrays, no suffix a folder), and how many images. It refuses, one
line each, a count the format cannot hold and (:meth:`SampleFiles.check_out`) a path whose writing would
replace a user's file or a run's own; :meth:`SampleFiles.write` writes the images atomically, and leaves
nothing behind when it fails or is stopped. Light to import (no torch, no PIL until it writes):
``improved-gan sample`` refuses a bad flag at once (docs/cli.md, Start-up).

Each grid and ``.npz`` carries :data:`WRITER`, the proof that ``sample`` wrote it: ``--overwrite`` replaces
only such a file (:func:`written_by_sample`), never one of the user's.
"""

from __future__ import annotations

import errno
import os
import shutil
import struct
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from improved_gan.config import MAX_SAMPLE_GRID
from improved_gan.errors import UserError
from improved_gan.runs.guard import enclosing_run
from improved_gan.runs.out_rules import check_out_file, check_out_folder
from improved_gan.utils.atomic import AppearedMeanwhile, atomic_open, atomic_write_bytes, current_umask
from improved_gan.utils.signals import stop_signals_deferred

MAX_SAMPLES = 1_000_000
"""The most images one call draws (they are held in memory: 784 MB of MNIST digits)."""

FORMATS = ("grid", "png-folder", "npz")
IMPLIED = {".png": "grid", ".npz": "npz", "": "png-folder"}
"""The format a path's suffix implies."""

WRITER = "improved-gan sample"
"""The mark of a file ``sample`` wrote: a grid's PNG text chunk ``Software`` (which image viewers show and
readers of pixels ignore), an ``.npz``'s entry ``written_by`` beside the images ``x`` (readers take ``x``)."""
PNG_MARK, NPZ_MARK = "Software", "written_by"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class SampleFiles:
    """``n`` images to write at ``out`` in ``format`` (one of :data:`FORMATS`; None: the one ``out`` implies).

    ``overwrite``: an existing grid or ``.npz`` that ``sample`` wrote (it carries :data:`WRITER`) may be
    replaced; never a file of the user's, never a folder, never a run's own file.
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

    def check_out(self) -> bool:
        """Nothing of the user's is replaced: a png-folder must be new or empty and not a link (the finished
        folder is renamed into place, which would replace a link); a file only when ``sample`` wrote it and
        ``overwrite`` is given (:meth:`_replaceable`); nothing goes inside a run folder, and a run's own file is
        never replaced. Returns whether a file was there that :meth:`write` may replace (``replace``): where none
        was, the file is published as new, and one that another process wrote meanwhile is refused."""
        _refuse_a_runs_own_file(self.out)
        if self.format == "png-folder":
            if self.out.is_symlink():  # check_folder_path (runs/out_paths.py) lets a link through
                raise UserError(f"--out {self.out} is a symbolic link (to {os.readlink(self.out)}), which the "
                                "finished folder would replace; name a new folder (nothing was written)")
            check_out_folder(self.out, instead="write the samples outside it")
            if self.out.exists() and any(self.out.iterdir()):
                raise UserError(f"--out {self.out} exists and is not an empty folder; name a new folder (nothing "
                                "was written)")
            return False
        found: list[Path] = []  # the file at --out, accepted

        def ours(path: Path) -> bool:
            self._replaceable(path)  # raises unless sample wrote it and --overwrite is given
            found.append(path)
            return True

        check_out_file(self.out, ours=ours, what=self._kind, outside="write the samples outside it")
        return bool(found)

    @property
    def _kind(self) -> str:
        return f".{'png' if self.format == 'grid' else 'npz'} file"

    def _replaceable(self, path: Path) -> bool:
        """For the existing file ``path``: True when ``sample`` wrote it and ``overwrite`` is given; otherwise
        the refusal, which says whether ``--overwrite`` would replace it."""
        if not written_by_sample(path):
            raise UserError(f"--out {path} exists; name a new {self._kind}, or remove it yourself: it was not "
                            "written by `improved-gan sample`, so --overwrite does not replace it (nothing was "
                            "written)")
        if not self.overwrite:
            raise UserError(f"--out {path} exists; name a new {self._kind}, or add --overwrite to replace it "
                            "(nothing was written)")
        return True

    def write(self, images: np.ndarray, *, replace: bool = False) -> None:
        """Write ``images`` (uint8 ``[n, H, W, C]``) in the format; a grid and an ``.npz`` carry :data:`WRITER`.

        ``replace``: :meth:`check_out`'s answer, a file ``sample`` wrote was there and ``overwrite`` is given.
        Otherwise the file is published without replacing (the name was free at :meth:`check_out`; two calls at
        once both said they wrote it, the second's file replacing the first's, and with ``--overwrite`` a file
        another process wrote after the check was replaced): one written meanwhile is refused, this call's
        temporary file removed."""
        try:
            if self.format == "grid":
                from improved_gan.utils.image_grid import make_grid, png_bytes  # PIL: once there is something to write

                atomic_write_bytes(self.out, png_bytes(make_grid(images), text={PNG_MARK: WRITER}),
                                   replace=replace)
            elif self.format == "npz":
                with atomic_open(self.out, "wb", replace=replace) as f:
                    np.savez_compressed(f, x=images, **{NPZ_MARK: np.array(WRITER)})
            else:
                _write_folder(images, self.out)
        except AppearedMeanwhile as err:
            raise UserError(f"{err}; name a new {self._kind} (nothing was written)") from None


def written_by_sample(path: Path) -> bool:
    """Whether ``path`` is a grid or an ``.npz`` that ``sample`` wrote: it carries :data:`WRITER`."""
    try:
        if zipfile.is_zipfile(path):
            with np.load(path, allow_pickle=False) as archive:
                return NPZ_MARK in archive.files and str(archive[NPZ_MARK]) == WRITER
        return _png_text(path, PNG_MARK) == WRITER
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile):
        return False


def _png_text(path: Path, keyword: str) -> str | None:
    """The text of the PNG ``path``'s ``tEXt`` chunk ``keyword`` before its image data (where PIL writes it)."""
    with open(path, "rb") as f:
        if f.read(8) != PNG_SIGNATURE:
            return None
        while len(header := f.read(8)) == 8:
            length, kind = struct.unpack(">I4s", header)
            if kind in (b"IDAT", b"IEND"):
                return None
            if kind != b"tEXt":
                f.seek(length + 4, os.SEEK_CUR)  # the chunk and its CRC
                continue
            name, _, text = f.read(length + 4)[:length].partition(b"\0")
            if name == keyword.encode("latin-1"):
                return text.decode("latin-1")
    return None


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
    """One PNG per image, ``000000.png`` ...; written into a hidden folder beside ``folder`` that this call makes
    (``.NAME.XXXXXXXX.partial``), then renamed into place (over ``folder`` when it is there: checked empty).
    Whatever stops it (a full disk, Ctrl-C, SIGTERM) removes that hidden folder before the error goes on."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = None
    try:
        with stop_signals_deferred():  # made and named at once: whatever stops the call finds it to remove
            staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".partial", dir=folder.parent))
        staging.chmod(0o777 & ~current_umask())  # mkdtemp's 0700 would be the finished folder's: a new folder's mode
        from improved_gan.utils.image_grid import png_bytes  # PIL: once there is something to write

        width = max(6, len(str(len(images) - 1)))
        for i, image in enumerate(images):
            (staging / f"{i:0{width}d}.png").write_bytes(png_bytes(image))
        os.replace(staging, folder)  # rename(2) replaces an empty folder; one filled meanwhile is refused
    except BaseException as err:
        if staging is not None:
            _remove_staging(staging, folder)
        if isinstance(err, OSError) and err.errno in (errno.ENOTEMPTY, errno.EEXIST) and err.filename == str(staging):
            raise UserError(f"another process wrote {folder} meanwhile; name a new folder (nothing was "
                            "written)") from None  # not the staging folder's name: the user never named it
        raise


def _remove_staging(staging: Path, folder: Path) -> None:
    """Remove the hidden folder of the unfinished png-folder ``folder`` (this call made it), or say in one line
    that it is left."""
    try:
        with stop_signals_deferred():  # a second Ctrl-C does not stop the removal half-way
            shutil.rmtree(staging)
    except FileNotFoundError:  # renamed into place just before the stop: the folder is complete
        pass
    except OSError as err:
        raise UserError(f"--out {folder} was not written, and the hidden folder {staging} that holds the samples "
                        f"written so far could not be removed ({err.strerror or err}); remove it yourself") from None
