"""Table 1's protocol: mnist-fm for each label count and seed, and a table beside the paper's.

Each (labels, seed) pair is one run folder under ``--out``; finished runs are
kept and unfinished ones resumed, so the script can be stopped and started
again. When the runs are done (or at any time with ``--report-only``) it writes
a markdown table of the last-epoch test errors (mean +- std over seeds), the
seconds per epoch measured on this machine, and a plot of every run's test
errors per epoch.

    python benchmarks/table1.py --data-dir ../shared/data --labels 100 --seeds 0 1 2 --epochs 300 --fast-step
    python benchmarks/table1.py --out runs/table1 --report-only --markdown docs/table1.md
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from improved_gan.config import apply_overrides
from improved_gan.experiments.presets import get_preset
from improved_gan.training.report import write_comparison
from improved_gan.training.run_dir import read_metrics
from improved_gan.training.trainer import ensure_trained
from improved_gan.utils.atomic import atomic_write_text

PAPER = {20: "1677 +- 452", 50: "221 +- 136", 100: "93 +- 6.5", 200: "90 +- 4.2"}


def run_dir(out: Path, labels: int, seed: int) -> Path:
    return out / f"mnist-fm-l{labels}-s{seed}"


def run_all(args: argparse.Namespace) -> None:
    for labels in args.labels:
        for seed in args.seeds:
            folder = run_dir(args.out, labels, seed)
            overrides = {"labels": labels, "seed": seed, "epochs": args.epochs, "data_dir": args.data_dir,
                         "precision": args.precision, "dataset": args.dataset,
                         "iters_per_epoch": args.iters_per_epoch,
                         "fast_step": True if args.fast_step else None}  # fmt: skip
            config = apply_overrides(get_preset("mnist-fm"), {k: v for k, v in overrides.items() if v is not None})
            ensure_trained(config, folder)


def write_table(args: argparse.Namespace) -> Path:
    lines = [
        "| labels | runs | epochs | test errors (last epoch, mean +- std) | paper (300 epochs) | s / epoch |",
        "|---|---|---|---|---|---|",
    ]
    folders = []
    for labels in args.labels:
        finals, epochs, seconds = [], set(), []
        for seed in args.seeds:
            rows = read_metrics(run_dir(args.out, labels, seed))
            if not rows:
                continue
            folders.append(run_dir(args.out, labels, seed))
            finals.append(rows[-1]["test_errors"])
            epochs.add(rows[-1]["epoch"])
            seconds += [r["seconds"] for r in rows]
        if not finals:
            continue
        spread = f"{statistics.mean(finals):.1f} +- {statistics.pstdev(finals):.1f}" if len(finals) > 1 else str(finals[0])
        lines.append(
            f"| {labels} | {len(finals)} | {'/'.join(map(str, sorted(epochs)))} | {spread} | {PAPER.get(labels, '-')} "
            f"| {statistics.median(seconds):.1f} |"
        )
    if folders:
        write_comparison(folders, args.out / "table1-curves.md")
        lines += ["", "![test errors per epoch](table1-curves.png)"]
    path = args.markdown or args.out / "table1.md"
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/table1"))
    parser.add_argument("--data-dir")
    parser.add_argument("--dataset", default="mnist", help="mnist (the paper's) or mnist5k (a quick check)")
    parser.add_argument("--iters-per-epoch", type=int, help="shorter epochs, for a quick check of the script")
    parser.add_argument("--labels", type=int, nargs="+", default=[100])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--precision", choices=["auto", "fp32", "bf16"])
    parser.add_argument("--fast-step", action="store_true",
                        help="train with the fused step (--set fast_step=true; docs/speed.md): about 3x faster on CPU")
    parser.add_argument("--report-only", action="store_true", help="only write the table from existing runs")
    parser.add_argument("--markdown", type=Path, help="where to write the table (default OUT/table1.md)")
    args = parser.parse_args()
    if not args.report_only:
        run_all(args)
    print(f"table: {write_table(args)}")


if __name__ == "__main__":
    main()
