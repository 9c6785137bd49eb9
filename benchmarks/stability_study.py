"""Table 1's stability study: the same seeds of mnist-fm under the MNIST script's two histories.

Arms (docs/reference.md, "The MNIST script's history"):

* ``released``: lr 0.003 held constant (the script as released, and our mnist-fm until now);
* ``paper-time``: lr 0.001 held to epoch 200, then linear to 0 at epoch 300 (the script when
  the paper appeared).

Everything else is the preset's (full MNIST, 100 labels, the reference step in float32).
The study trains breadth first: every seed of an arm reaches ``stage`` epochs before any
seed goes further, so a study stopped at any time holds all its seeds at the same depth.
Each run folder is an ordinary run (``improved-gan eval/report`` work on it) and records,
in ``hosts.jsonl``, the CPU that trained each span of epochs (trajectories differ between
CPU kinds through rounding).

Failures are counted with the package's one definition (improved_gan/experiments/failures.py),
fixed before any run of this study was looked at: ``loss_unsup`` below 0.05 for a whole epoch
from epoch 5 on, or EMA test errors at the last common epoch above twice the median of all
runs (both arms) there.

Commands (one process per arm, one thread each):

    python benchmarks/stability_study.py train --arm released   --data-dir ../shared/data --seeds 0-7 --epochs 40
    python benchmarks/stability_study.py train --arm paper-time --data-dir ../shared/data --seeds 0-7 --epochs 40
    python benchmarks/stability_study.py table --out runs/stability --markdown docs/stability.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

ARMS = {
    "released": {"lr": 0.003, "lr_decay_start": None, "lr_decay_end": None},
    "paper-time": {"lr": 0.001, "lr_decay_start": 200, "lr_decay_end": 300},
}


def parse_seeds(text: str) -> list[int]:
    seeds: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        seeds += list(range(int(lo), int(hi) + 1)) if hi else [int(lo)]
    if not seeds:
        raise SystemExit("error: --seeds is empty; give e.g. 0-7 or 0,3,5")
    return seeds


def run_folder(out: Path, arm: str, seed: int) -> Path:
    return out / f"{arm}-s{seed}"


def cpu_record() -> dict:
    import torch

    flags = set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    except OSError:
        pass
    return {
        "host": platform.node(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "avx512_bf16": "avx512_bf16" in flags,
        "amx_bf16": "amx_bf16" in flags,
        "avx512f": "avx512f" in flags,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }


def train_arm(args: argparse.Namespace) -> None:
    import torch

    from improved_gan.config import apply_overrides
    from improved_gan.experiments.presets import get_preset
    from improved_gan.training.checkpoint import latest_checkpoint
    from improved_gan.training.run_dir import read_metrics
    from improved_gan.training.trainer import ensure_trained

    torch.set_num_threads(args.threads)
    machine = cpu_record()
    stages = list(range(args.stage, args.epochs, args.stage)) + [args.epochs]
    for stage in stages:
        for seed in parse_seeds(args.seeds):
            folder = run_folder(args.out, args.arm, seed)
            done = read_metrics(folder)[-1]["epoch"] if latest_checkpoint(folder) is not None else 0
            if done >= stage:
                continue
            started = time.time()
            overrides = {"labels": 100, "seed": seed, "epochs": stage, "data_dir": args.data_dir,
                         "precision": "fp32", "epoch_score_every": 0, "final_score_samples": 0,
                         **ARMS[args.arm]}  # fmt: skip
            ensure_trained(apply_overrides(get_preset(args.preset), overrides), folder, progress=False)
            span = {"from_epoch": done, "to_epoch": stage, "wall_s": round(time.time() - started, 1), **machine}
            with open(folder / "hosts.jsonl", "a", encoding="utf-8") as f:
                f.write(json.dumps(span) + "\n")
            print(f"{args.arm} seed {seed}: epoch {stage} "
                  f"({read_metrics(folder)[-1]['test_errors']} errors, {span['wall_s']:.0f} s)", flush=True)


def write_table(args: argparse.Namespace) -> None:
    from improved_gan.experiments.failures import FROM_EPOCH, failure_reasons
    from improved_gan.training.run_dir import read_metrics

    runs = {}
    for folder in sorted(args.out.iterdir()):
        rows = read_metrics(folder)
        if rows and "-s" in folder.name:
            arm, _, seed = folder.name.rpartition("-s")
            runs[(arm, int(seed))] = (folder, rows)
    if not runs:
        raise SystemExit(f"error: no study runs under {args.out}")
    last_common = min(rows[-1]["epoch"] for _, rows in runs.values())
    median_errors = statistics.median(
        next(r["test_errors"] for r in rows if r["epoch"] == last_common) for _, rows in runs.values()
    )
    checkpoints = sorted({e for e in (5, 10, 12, 14, 20, 30, 40) if e <= last_common} | {last_common})
    lines = [f"Last common epoch: {last_common}; median EMA test errors there (both arms): {median_errors:g}.", ""]
    for arm in ARMS:
        members = sorted((seed, v) for (a, seed), v in runs.items() if a == arm)
        if not members:
            continue
        failed = {
            seed: failure_reasons(rows, errors_key="test_errors", median_errors=median_errors, at_epoch=last_common)
            for seed, (_, rows) in members
        }
        n_failed = sum(bool(r) for r in failed.values())
        lines += [f"### {arm}: {n_failed} failed of {len(members)}", "",
                  "| seed | " + " | ".join(f"errors @{e} (EMA / raw)" for e in checkpoints)
                  + f" | min loss_unsup ({'epoch >= 5' if last_common >= FROM_EPOCH else 'all epochs'}) | max loss_g | CPU | failed |",
                  "|---" * (len(checkpoints) + 5) + "|"]
        for seed, (folder, rows) in members:
            by_epoch = {r["epoch"]: r for r in rows}
            cells = [f"{by_epoch[e]['test_errors']} / {by_epoch[e]['test_errors_raw']}" for e in checkpoints]
            late = [r for r in rows if r["epoch"] >= FROM_EPOCH] or rows
            hosts = [json.loads(x) for x in (folder / "hosts.jsonl").read_text().splitlines()] \
                if (folder / "hosts.jsonl").is_file() else []
            cpus = ",".join(sorted({h["cpu_capability"] for h in hosts})) or "?"
            lines.append(f"| {seed} | " + " | ".join(cells)
                         + f" | {min(r['loss_unsup'] for r in late):.3f} | {max(r['loss_g'] for r in rows):.2f}"
                         f" | {cpus} | {'; '.join(failed[seed]) or 'no'} |")
        lines.append("")
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train one arm's seeds breadth first")
    t.add_argument("--arm", choices=sorted(ARMS), required=True)
    t.add_argument("--data-dir", default=os.environ.get("IMPROVED_GAN_DATA"))
    t.add_argument("--seeds", default="0-7")
    t.add_argument("--epochs", type=int, default=40)
    t.add_argument("--stage", type=int, default=2, help="epochs every seed gains before any goes further")
    t.add_argument("--threads", type=int, default=1)
    t.add_argument("--preset", default="mnist-fm", help="the preset both arms start from (its lr is the arm's)")
    t.add_argument("--out", type=Path, default=Path("runs/stability"))
    r = sub.add_parser("table", help="the per-arm table (failures by the fixed definition)")
    r.add_argument("--out", type=Path, default=Path("runs/stability"))
    r.add_argument("--markdown", type=Path)
    args = parser.parse_args()
    train_arm(args) if args.command == "train" else write_table(args)


if __name__ == "__main__":
    main()
