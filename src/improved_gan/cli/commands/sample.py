"""``improved-gan sample RUN --n N --out OUT``: a grid, a folder of PNGs, or an .npz of generated images."""

from __future__ import annotations

import argparse
import io
import os
import tempfile
from pathlib import Path

from improved_gan.errors import UserError
from improved_gan.runs.guard import enclosing_run
from improved_gan.runs.out_rules import check_out_file, check_out_folder
from improved_gan.utils.atomic import atomic_open

MAX_GRID_IMAGES = 10_000
"""The most images in one PNG grid (100 x 100); more go to a png-folder or an .npz."""

MAX_SAMPLES = 1_000_000
"""The most images one call draws (they are held in memory: 784 MB of MNIST digits)."""

FORMATS = ("grid", "png-folder", "npz")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "sample",
        help="samples of a run's generator: a PNG grid, a folder of PNGs, or an .npz of uint8 arrays",
        description="Draw N images from a run's generator (reproducible by --seed). The format follows --out: "
        "FILE.png is one grid, FILE.npz holds uint8 arrays [N, H, W, C], a FOLDER gets one PNG per image "
        "(or say --format).",
    )
    p.add_argument("run", type=Path, help="run folder")
    p.add_argument("--n", type=int, default=100, help="number of images (default 100)")
    p.add_argument("--out", type=Path, required=True, help="FILE.png (grid), FILE.npz, or a new FOLDER (png-folder)")
    p.add_argument("--format", choices=FORMATS, help="default: from --out (.png: grid, .npz: npz, else png-folder)")
    p.add_argument("--seed", type=int, default=0, help="seed of z (default 0)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing FILE.png or FILE.npz (never a folder)")
    p.add_argument("--device", default=None, help="auto, cpu, cuda, cuda:N (default auto)")
    p.set_defaults(func=run)


def _format(args: argparse.Namespace) -> str:
    """The format asked for, or the one ``--out`` implies; a contradiction is a UserError."""
    suffix = args.out.suffix.lower()
    implied = {".png": "grid", ".npz": "npz", "": "png-folder"}.get(suffix)
    if args.format is None and implied is None:
        raise UserError(f"--out must be FILE.png, FILE.npz or a FOLDER without a suffix (got {args.out})")
    if args.format is not None and implied is not None and args.format != implied:
        raise UserError(f"--format {args.format} does not fit --out {args.out} (that names a {implied})")
    return args.format or implied


def _check_out(out: Path, fmt: str, *, overwrite: bool = False) -> None:
    """Nothing is overwritten: a file only with --overwrite; a png-folder must be new or empty; nothing goes
    inside a run folder."""
    _refuse_a_runs_own_file(out)
    if fmt == "png-folder":
        check_out_folder(out, instead="write the samples outside it")
        if out.exists() and any(out.iterdir()):
            raise UserError(f"--out {out} exists and is not an empty folder; name a new folder (nothing was written)")
        return
    kind = f".{'png' if fmt == 'grid' else 'npz'} file"
    if out.is_file() and not overwrite:
        raise UserError(f"--out {out} exists; name a new {kind}, or add --overwrite to replace it (nothing was "
                        "written)")
    check_out_file(out, ours=lambda path: overwrite, what=kind, outside="write the samples outside it")


def _refuse_a_runs_own_file(out: Path) -> None:
    """A file inside a run folder (its config.json, metrics, checkpoints, sample grids) is the run's: never replaced,
    even with --overwrite (``--out RUN/config.json --format npz --overwrite`` destroyed the run). A new one is
    refused too: the run holds only what its trainer writes, which a resume would write over
    (``--out RUN/samples/epoch-0003.png``, then ``train --resume RUN --epochs 3``, lost the samples)."""
    run = enclosing_run(out)
    if run is not None and (out.exists() or out.is_symlink()) and not out.is_dir():
        raise UserError(f"--out {out} is a file of the run {run}; --overwrite never replaces a run's own files. "
                        "Name a new file (nothing was written)")


def run(args: argparse.Namespace) -> int:
    if args.n <= 0:
        raise UserError(f"--n must be positive (got {args.n})")
    fmt = _format(args)
    if fmt == "grid" and args.n > MAX_GRID_IMAGES:
        raise UserError(
            f"a PNG grid holds at most {MAX_GRID_IMAGES:,} images (got --n {args.n:,}); for more, write "
            f"--out FILE.npz or --out FOLDER (one PNG per image)"
        )
    if args.n > MAX_SAMPLES:
        raise UserError(
            f"at most {MAX_SAMPLES:,} images per call (got --n {args.n:,}: they are held in memory); "
            "run several calls with different --seed"
        )
    _check_out(args.out, fmt, overwrite=args.overwrite)
    # torch, numpy, PIL: imported once the flags and --out are checked (docs/cli.md, Start-up)
    import numpy as np

    from improved_gan.training.device import resolve_device
    from improved_gan.training.sampling import check_seed, sample_images
    from improved_gan.utils.image_grid import save_grid

    check_seed(args.seed)
    device = resolve_device(args.device)
    images = sample_images(args.run, args.n, seed=args.seed, device=device)
    if fmt == "grid":
        save_grid(images, args.out)
    elif fmt == "npz":
        with atomic_open(args.out, "wb") as f:
            np.savez_compressed(f, x=images)
    else:
        _write_folder(images, args.out)
    print(f"wrote {args.n} samples to {args.out}")
    return 0


def _write_folder(images, folder: Path) -> None:
    """One PNG per image, ``000000.png`` ...; written into a hidden folder, then renamed into place."""
    from PIL import Image  # this format's own writer (imported after the checks, as in run)

    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".partial", dir=folder.parent))
    width = max(6, len(str(len(images) - 1)))
    for i, image in enumerate(images):
        buffer = io.BytesIO()
        Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(buffer, format="PNG")
        (staging / f"{i:0{width}d}.png").write_bytes(buffer.getvalue())
    if folder.is_dir():
        folder.rmdir()  # checked empty above
    os.replace(staging, folder)
