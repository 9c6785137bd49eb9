"""``improved-gan sample RUN --n N --out FILE.png``: a grid of generated images."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser("sample", help="a PNG grid (or .npz) of samples from a run's generator")
    p.add_argument("run", type=Path, help="run folder")
    p.add_argument("--n", type=int, default=100, help="number of images (default 100)")
    p.add_argument("--out", type=Path, required=True, help="FILE.png for a grid, FILE.npz for uint8 arrays")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default=None)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from improved_gan.errors import UserError
    from improved_gan.training.sampling import sample_images
    from improved_gan.utils.atomic import atomic_open
    from improved_gan.utils.image_grid import save_grid

    if args.n <= 0:
        raise UserError(f"--n must be positive (got {args.n})")
    suffix = args.out.suffix.lower()
    if suffix not in (".png", ".npz"):
        raise UserError(f"--out must end in .png or .npz (got {args.out})")
    images = sample_images(args.run, args.n, seed=args.seed, device=args.device)
    if suffix == ".png":
        save_grid(images, args.out)
    else:
        with atomic_open(args.out, "wb") as f:
            np.savez_compressed(f, x=images)
    print(f"wrote {args.n} samples to {args.out}")
    return 0
