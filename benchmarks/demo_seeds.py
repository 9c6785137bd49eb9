"""The demo over several seeds: its table, its last sample grids side by side, and its metrics kept for the docs.

Reads run folders written by ``improved-gan demo --seed S --out ROOT/PREFIX-sS`` (each holds ``labels-only`` and
``k-plus-1-gan``) and prints, per seed, both runs' test errors at their last epoch, the ratio K+1 / labels only,
the gain, whether the K+1 run failed (``runs/failures.py``, the package's one definition), its lowest
``loss_unsup`` from epoch 5 on and its highest feature-matching loss; then the largest seed-to-seed difference
of each run (the spread the demo measures a gain against, ``cli/commands/demo.py``).

    python benchmarks/demo_seeds.py --root runs --prefix demo-stable --seeds 0-4 \
        --figure docs/img/results/demo-stable-grids-epoch80.png --keep docs/runs/demo-stable-2026-12-07

``--keep`` copies each run's ``config.json`` and ``metrics.jsonl`` (no checkpoints, no samples) and each seed's
``comparison.md`` into a folder of the docs. ``--epoch E`` reads every run as it stood at epoch E (its metrics
cut there, also in what ``--keep`` copies), for runs continued past it (docs/stability.md, study 5). Both outputs must be new (a new or empty folder, a new PNG): the
script replaces nothing. No data folder is needed.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

RUNS = ("labels-only", "k-plus-1-gan")


def parse_seeds(text: str) -> list[int]:
    seeds: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        seeds += list(range(int(lo), int(hi) + 1)) if hi else [int(lo)]
    return seeds


def metrics_to(run: Path, epoch: int | None) -> list[dict]:
    """A run's metrics rows up to ``epoch`` (all of them for None); refuses a run that has not reached it."""
    from improved_gan.runs.layout import read_metrics

    rows = read_metrics(run)
    if epoch is None:
        return rows
    if not rows or rows[-1]["epoch"] < epoch:
        raise SystemExit(f"error: {run} has not reached epoch {epoch} (it is at {rows[-1]['epoch'] if rows else 0})")
    return [r for r in rows if r["epoch"] <= epoch]


def seed_row(folder: Path, epoch: int | None = None) -> dict:
    """One seed's numbers (module docstring) from its demo folder, at ``epoch`` (the last for None)."""
    from improved_gan.config import load_config
    from improved_gan.runs.failures import FROM_EPOCH, run_failure

    alone, gan = (metrics_to(folder / name, epoch) for name in RUNS)
    late = [r for r in gan if r["epoch"] >= FROM_EPOCH]
    failure = run_failure(load_config(folder / RUNS[1] / "config.json"), gan)
    return {
        "labels_only": alone[-1]["test_errors"], "k_plus_1": gan[-1]["test_errors"], "epoch": gan[-1]["epoch"],
        "failed": failure.describe() if failure else "no",
        "lowest_unsup": min(r["loss_unsup"] for r in late), "highest_fm": max(r["loss_g"] for r in late),
        "precision": gan[-1].get("precision", "?"),
    }  # fmt: skip


def grids_figure(folders: dict[int, Path], epoch: int, path: Path) -> None:
    """The K+1 runs' sample grids at ``epoch``, one panel per seed, in one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    from improved_gan.runs.layout import sample_grid_path

    fig, axes = plt.subplots(1, len(folders), figsize=(3.2 * len(folders), 3.5), squeeze=False)
    for ax, (seed, folder) in zip(axes[0], folders.items()):
        ax.imshow(Image.open(sample_grid_path(folder / RUNS[1], epoch)).convert("L"), cmap="gray")
        ax.set_title(f"seed {seed}, epoch {epoch}", fontsize=10)
        ax.axis("off")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def keep(folders: dict[int, Path], into: Path, epoch: int | None = None) -> None:
    """Copy each run's config and metrics (its lines up to ``epoch``, all for None) and each seed's
    comparison.md (where the demo wrote one) into ``into/sS/``."""
    import json

    for seed, folder in folders.items():
        for name in RUNS:
            target = into / f"s{seed}" / name
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(folder / name / "config.json", target / "config.json")
            lines = (folder / name / "metrics.jsonl").read_text().splitlines(keepends=True)
            kept = [line for line in lines if epoch is None or json.loads(line)["epoch"] <= epoch]
            (target / "metrics.jsonl").write_text("".join(kept))
        if (folder / "comparison.md").is_file():  # written by `improved-gan demo`; not by two `train` runs
            shutil.copy2(folder / "comparison.md", into / f"s{seed}" / "comparison.md")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--root", type=Path, default=Path("runs"))
    p.add_argument("--prefix", default="demo")
    p.add_argument("--seeds", default="0-4")
    p.add_argument("--figure", type=Path, help="PNG of the K+1 runs' last grids")
    p.add_argument("--keep", type=Path, help="folder to copy the runs' configs and metrics into")
    p.add_argument("--epoch", type=int, help="read the runs as they stood at this epoch (default: their last)")
    args = p.parse_args()
    folders = {s: args.root / f"{args.prefix}-s{s}" for s in parse_seeds(args.seeds)}
    missing = [str(f) for f in folders.values() if not (f / RUNS[1] / "metrics.jsonl").is_file()]
    if missing:
        raise SystemExit(f"error: no finished demo in {', '.join(missing)}; run improved-gan demo --seed S --out ...")
    if args.figure is not None and args.figure.exists():
        raise SystemExit(f"error: {args.figure} exists; this script writes only new files (remove it first)")
    if args.keep is not None and args.keep.exists() and any(args.keep.iterdir()):
        raise SystemExit(f"error: {args.keep} is not empty; this script copies only into a new or empty folder")
    rows = {seed: seed_row(folder, args.epoch) for seed, folder in folders.items()}
    print("| seed | labels only | K+1 GAN | ratio | gain | K+1 failed | lowest `loss_unsup` from epoch 5 "
          "| highest feature-matching loss | precision |")
    print("|---|---|---|---|---|---|---|---|---|")
    for seed, r in rows.items():
        print(f"| {seed} | {r['labels_only']} | {r['k_plus_1']} | {r['k_plus_1'] / r['labels_only']:.2f} "
              f"| {r['labels_only'] - r['k_plus_1']} | {r['failed']} | {r['lowest_unsup']:.3f} "
              f"| {r['highest_fm']:.2f} | {r['precision']} |")
    for key, name in (("labels_only", "labels only"), ("k_plus_1", "K+1 GAN")):
        values = [r[key] for r in rows.values()]
        print(f"{name}: {min(values)}-{max(values)}, largest seed-to-seed difference {max(values) - min(values)}")
    if args.figure:
        grids_figure(folders, min(r["epoch"] for r in rows.values()), args.figure)
        print(f"figure: {args.figure}")
    if args.keep:
        keep(folders, args.keep, args.epoch)
        print(f"kept: {args.keep}")


if __name__ == "__main__":
    main()
