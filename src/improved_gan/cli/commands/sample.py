"""``improved-gan sample RUN --n N --out OUT``: a grid, a folder of PNGs, or an .npz of generated images."""

from __future__ import annotations

import argparse
from pathlib import Path

from improved_gan.config import check_device_flag, load_config
from improved_gan.runs.layout import CONFIG
from improved_gan.runs.out_paths import path_argument
from improved_gan.sample_files import FORMATS, SampleFiles
from improved_gan.training.seeds import check_sample_seed


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "sample",
        help="samples of a run's generator: a PNG grid, a folder of PNGs, or an .npz of uint8 arrays",
        description="Draw N images from a run's generator (reproducible by --seed). The format follows --out: "
        "FILE.png is one grid, FILE.npz holds uint8 arrays [N, H, W, C], a FOLDER gets one PNG per image "
        "(or say --format). A grid and an .npz carry a mark of this command (a PNG text chunk, an entry "
        "'written_by' beside 'x'), by which --overwrite knows them.",
    )
    p.add_argument("run", type=path_argument, help="run folder")
    p.add_argument("--n", type=int, default=100, help="number of images (default 100)")
    p.add_argument("--out", type=path_argument, required=True,
                   help="FILE.png (grid), FILE.npz, or a new or empty FOLDER (png-folder); not a symbolic link")
    p.add_argument("--format", choices=FORMATS, help="default: from --out (.png: grid, .npz: npz, else png-folder)")
    p.add_argument("--seed", type=int, default=0, help="seed of z (default 0)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing FILE.png or FILE.npz that `improved-gan sample` wrote (never another "
                   "file, a folder or a run's own file)")
    p.add_argument("--device", default=None, help="auto, cpu, cuda, cuda:N (default auto)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Every flag and --out checked (before torch), then the images drawn and written (sample_files.py)."""
    files = SampleFiles(args.out, args.n, format=args.format, overwrite=args.overwrite)
    check_sample_seed(args.seed)
    check_device_flag(args.device)
    load_config(Path(args.run) / CONFIG)  # a folder that holds no run, said before torch (the loader reads it again)
    replace = files.check_out()  # whether a file sample wrote is there to replace (--overwrite); else a new one
    # torch: imported once the flags and --out are checked (docs/cli.md, Start-up)
    from improved_gan.training.device import resolve_device
    from improved_gan.training.sampling import sample_images

    images = sample_images(args.run, args.n, seed=args.seed, device=resolve_device(args.device))
    files.write(images, replace=replace)
    print(f"wrote {args.n} samples to {args.out}")
    return 0
