"""Seed studies of the K+1 GAN's stability: the same seeds trained under several arms, failures counted.

Three studies (docs/stability.md has the protocols, written before their results):

* ``full``: full MNIST, 100 labels, ``mnist-fm``'s networks; arms ``released`` (lr 0.003 constant) and
  ``paper-time`` (lr 0.001 to epoch 200, then linear to 0 at 300), float32.
* ``full-default``: full MNIST, 100 labels, float32; arms ``stable`` (``mnist-fm-stable``: ``mnist-fm-paper`` with
  D's input noise 0.5) and ``paper`` (``mnist-fm-paper``).
* ``proxy``: the demo's setting, ``mnist5k`` (4,000 training digits, 1,000 held out), 100 labels,
  ``mnist-fm-paper``'s networks; arms differ in precision, learning rate and remedies (``ARMS``).
  An epoch is 40 iterations, so a failure (which starts within about 600 iterations) shows in minutes.

Every arm trains the same seeds. Training is breadth first: every seed of every arm reaches ``stage``
epochs before any goes further, so a study stopped at any time holds all its runs at one depth.
Each run folder is an ordinary run (``improved-gan runs/report/eval`` work on it) and records, in
``hosts.jsonl``, the CPU that trained each span of epochs and the source revision (trajectories differ
between CPU kinds through rounding). Failures are counted with the package's one definition
(``improved_gan/runs/failures.py``).

Commands (one process per core, one thread each; ``--shard i/n`` splits the runs between processes):

    python benchmarks/stability_study.py train --study proxy --arms fp32,fp32-lr3e-3 --seeds 0-19 \\
        --epochs 40 --shard 0/2
    python benchmarks/stability_study.py table --study proxy --markdown docs/stability-proxy.md
    python benchmarks/stability_study.py table --study full-default --epoch 40 --pair paper,stable

``table`` prints the failures per arm with their intervals, each seed's errors and losses, and with ``--pair``
two arms' test errors paired by seed (the seeds where neither failed; Wilcoxon signed-rank).
    python benchmarks/stability_study.py grids --study proxy --epoch 40 --runs fp32-s13 fp32-s9 \\
        --figure docs/img/stability/grids-epoch40.png
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import time
from pathlib import Path

STUDIES = {
    "full": {
        "preset": "mnist-fm",
        "base": {"labels": 100, "precision": "fp32"},
        "arms": {
            "released": {"lr": 0.003, "lr_decay_start": None, "lr_decay_end": None},
            "paper-time": {"lr": 0.001, "lr_decay_start": 200, "lr_decay_end": 300},
        },
    },
    "full-default": {
        "preset": "mnist-fm-paper",
        "base": {"labels": 100, "precision": "fp32"},
        "arms": {
            "stable": {"d_input_noise": 0.5},                                 # mnist-fm-stable, the demo's preset
            "paper": {},                                                      # mnist-fm-paper
        },
    },
    "proxy": {
        "preset": "mnist-fm-paper",
        "base": {"dataset": "mnist5k", "labels": 100},
        "arms": {
            "fp32": {"precision": "fp32"},                                    # the demo on an AVX2 host
            "bf16": {"precision": "bf16"},                                    # the demo where bf16 is native
            "fp32-lr3e-3": {"precision": "fp32", "lr": 0.003},                # the released learning rate
            "fp32-lr3e-3-smooth": {"precision": "fp32", "lr": 0.003, "label_smoothing": 0.9},  # Section 3.4
            "fp32-smooth": {"precision": "fp32", "label_smoothing": 0.9},     # the default + Section 3.4
            "fp32-noise5": {"precision": "fp32", "d_input_noise": 0.5},       # stronger noise on D's input
            "fp32-lr5e-4": {"precision": "fp32", "lr": 0.0005},               # half the paper's learning rate
            "bf16-noise5": {"precision": "bf16", "d_input_noise": 0.5},       # the default's remedy, in bf16
            "bf16-generator": {"precision": "bf16", "bf16_players": "generator"},          # D's products float32
            "bf16-discriminator": {"precision": "bf16", "bf16_players": "discriminator"},  # G's products float32
        },
    },
}
# no sample scores during the study: they cost more than the training and are not what it measures
QUIET = {"epoch_score_every": 0, "final_score_samples": 0}


def parse_seeds(text: str) -> list[int]:
    seeds: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        seeds += list(range(int(lo), int(hi) + 1)) if hi else [int(lo)]
    if not seeds:
        raise SystemExit("error: --seeds is empty; give e.g. 0-19 or 0,3,5")
    return seeds


def run_folder(out: Path, arm: str, seed: int) -> Path:
    return out / f"{arm}-s{seed}"


def source_revision() -> str:
    """The git commit of the package that trains (``unknown`` outside a checkout)."""
    import improved_gan

    root = Path(improved_gan.__file__).resolve().parents[2]
    try:
        return subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def cpu_record() -> dict:
    import torch

    flags: set[str] = set()
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "flags" and not flags:
                flags = set(value.split())
            if key.strip() == "model name" and not model:
                model = value.strip()
    except OSError:
        pass
    return {
        "host": platform.node(),
        "cpu_model": model,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "aten_cpu_capability_env": os.environ.get("ATEN_CPU_CAPABILITY"),
        "avx512_bf16": "avx512_bf16" in flags,
        "amx_bf16": "amx_bf16" in flags,
        "avx512f": "avx512f" in flags,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "revision": source_revision(),
    }


def trained_epochs(folder: Path) -> int:
    from improved_gan.runs.checkpoint import latest_checkpoint
    from improved_gan.runs.layout import read_metrics

    return read_metrics(folder)[-1]["epoch"] if latest_checkpoint(folder) is not None else 0


def train(args: argparse.Namespace) -> None:
    import torch

    from improved_gan.config import apply_overrides
    from improved_gan.experiments.presets import get_preset
    from improved_gan.runs.layout import read_metrics
    from improved_gan.training.trainer import ensure_trained

    study = STUDIES[args.study]
    arms = args.arms.split(",")
    unknown = [a for a in arms if a not in study["arms"]]
    if unknown:
        raise SystemExit(f"error: unknown arm(s) {unknown}; {args.study} has {sorted(study['arms'])}")
    index, _, count = args.shard.partition("/")
    index, count = int(index), int(count)
    torch.set_num_threads(args.threads)
    machine = cpu_record()
    runs = [(arm, seed) for seed in parse_seeds(args.seeds) for arm in arms]  # seed-major: arms advance together
    mine = runs[index::count]
    stages = list(range(args.stage, args.epochs, args.stage)) + [args.epochs]
    for stage in stages:
        for arm, seed in mine:
            folder = run_folder(args.out, arm, seed)
            done = trained_epochs(folder)
            if done >= stage:
                continue
            started = time.time()
            overrides = {**study["base"], "seed": seed, "epochs": stage, "data_dir": args.data_dir, **QUIET,
                         **study["arms"][arm]}
            if study["base"].get("dataset") == "mnist5k":
                overrides.pop("data_dir")
            ensure_trained(apply_overrides(get_preset(study["preset"]), overrides), folder, progress=False)
            span = {"from_epoch": done, "to_epoch": stage, "wall_s": round(time.time() - started, 1), **machine}
            with open(folder / "hosts.jsonl", "a", encoding="utf-8") as f:
                f.write(json.dumps(span) + "\n")
            last = read_metrics(folder)[-1]
            print(f"{arm} seed {seed}: epoch {stage} ({last['test_errors']} errors, loss_unsup "
                  f"{last['loss_unsup']:.4f}, loss_g {last['loss_g']:.2f}, {span['wall_s']:.0f} s)", flush=True)


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """The exact (Clopper-Pearson) two-sided interval of a binomial proportion k/n."""
    from scipy.stats import beta

    alpha = 1 - level
    lo = 0.0 if k == 0 else float(beta.ppf(alpha / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(beta.ppf(1 - alpha / 2, k + 1, n - k))
    return lo, hi


def table(args: argparse.Namespace) -> None:
    from improved_gan.config import load_config
    from improved_gan.runs.failures import run_failure
    from improved_gan.runs.layout import read_metrics

    study = STUDIES[args.study]
    runs: dict[tuple[str, int], tuple[Path, list[dict]]] = {}
    for folder in sorted(args.out.iterdir()) if args.out.is_dir() else []:
        arm, _, seed = folder.name.rpartition("-s")
        if arm in study["arms"] and seed.isdigit() and (rows := read_metrics(folder)):
            runs[(arm, int(seed))] = (folder, rows)
    if not runs:
        raise SystemExit(f"error: no {args.study} study runs under {args.out}")
    depth = min(rows[-1]["epoch"] for _, rows in runs.values()) if args.epoch is None else args.epoch
    short = sorted(f"{arm}-s{seed}" for (arm, seed), (_, rows) in runs.items() if rows[-1]["epoch"] < depth)
    reached = ("the depth every run has reached" if not short else
               f"runs short of it left out: {', '.join(short)}")
    lines = [f"All runs cut at epoch {depth} ({reached}). Errors are the EMA "
             f"discriminator's test errors at epoch {depth}; a failure is `runs/failures.py`'s.", "",
             "| arm | runs | failed | failure rate [95% CI] | errors of the runs that did not fail: median (range) |"
             " CPU kinds |", "|---|---|---|---|---|---|"]
    details = []
    for arm in study["arms"]:
        members = sorted((seed, v) for (a, seed), v in runs.items() if a == arm)
        members = [(s, (f, [r for r in rows if r["epoch"] <= depth])) for s, (f, rows) in members
                   if rows[-1]["epoch"] >= depth]
        if not members:
            continue
        # the run's own config: label smoothing moves the least loss the definition measures from
        failures = {seed: run_failure(load_config(folder / "config.json"), rows) for seed, (folder, rows) in members}
        failed = sorted(s for s, f in failures.items() if f is not None)
        healthy = [rows[-1]["test_errors"] for s, (_, rows) in members if failures[s] is None]
        lo, hi = clopper_pearson(len(failed), len(members))
        cpus = set()
        for _, (folder, _) in members:
            hosts = folder / "hosts.jsonl"
            if hosts.is_file():
                cpus |= {json.loads(x)["cpu_capability"] for x in hosts.read_text().splitlines() if x.strip()}
        spread = (f"{statistics.median(healthy):g} ({min(healthy)}-{max(healthy)})" if healthy else "-")
        lines.append(f"| {arm} | {len(members)} | {len(failed)} | {100 * len(failed) / len(members):.0f}% "
                     f"[{100 * lo:.0f}, {100 * hi:.0f}] | {spread} | {', '.join(sorted(cpus)) or '?'} |")
        for seed in failed:
            details.append(f"- {arm} seed {seed}: {failures[seed].describe()}")
    text = "\n".join(lines + ["", "Failed runs:", ""] + (details or ["- none"]) + per_seed_lines(runs, study, depth))
    if args.pair:
        text += "\n" + paired_comparison(runs, depth, *args.pair.split(","))
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n")


def _cut(rows: list[dict], depth: int) -> list[dict] | None:
    """The rows to epoch ``depth``, or None for a run that has not reached it."""
    return [r for r in rows if r["epoch"] <= depth] if rows[-1]["epoch"] >= depth else None


def per_seed_lines(runs: dict, study: dict, depth: int) -> list[str]:
    """Per arm and seed: the EMA test errors at ``depth``, the lowest ``loss_unsup`` and the highest
    feature-matching loss (``loss_g``) from the failure definition's first epoch on (runs/failures.py)."""
    from improved_gan.runs.failures import FROM_EPOCH

    lines = ["", f"Per seed, at epoch {depth}: test errors / lowest loss_unsup / highest feature-matching loss, "
             f"both from epoch {FROM_EPOCH}:", ""]
    for arm in study["arms"]:
        cells = []
        for (a, seed), (_, rows) in sorted(runs.items()):
            if a == arm and (cut := _cut(rows, depth)) is not None:
                late = [r for r in cut if r["epoch"] >= FROM_EPOCH] or cut
                cells.append(f"{seed}: {cut[-1]['test_errors']} / {min(r['loss_unsup'] for r in late):.3f} / "
                             f"{max(r['loss_g'] for r in late):.2f}")
        if cells:
            lines.append(f"- {arm}: " + "; ".join(cells))
    return lines


def paired_comparison(runs: dict, depth: int, first: str, second: str) -> str:
    """Test errors at ``depth`` of two arms, paired by seed over the seeds where neither run failed: the median
    difference (``second`` minus ``first``) and the two-sided Wilcoxon signed-rank p (exact, zero differences
    dropped, as scipy's default)."""
    from scipy.stats import wilcoxon

    from improved_gan.config import load_config
    from improved_gan.runs.failures import run_failure

    def healthy_errors(arm: str) -> dict[int, int]:
        out = {}
        for (a, seed), (folder, rows) in runs.items():
            cut = _cut(rows, depth) if a == arm else None
            if cut is not None and run_failure(load_config(folder / "config.json"), cut) is None:
                out[seed] = cut[-1]["test_errors"]
        return out

    a, b = healthy_errors(first), healthy_errors(second)
    seeds = sorted(set(a) & set(b))
    if not seeds:
        return f"Paired {second} - {first}: no seed where both reached epoch {depth} without failing."
    differences = [b[s] - a[s] for s in seeds]
    nonzero = [d for d in differences if d]
    p = wilcoxon(nonzero).pvalue if len(nonzero) >= 2 else float("nan")
    return (f"Paired {second} - {first}, test errors at epoch {depth}, over the {len(seeds)} seeds where neither "
            f"failed ({', '.join(map(str, seeds))}): differences {differences}; median {statistics.median(differences):g}; "
            f"Wilcoxon signed-rank p = {p:.2g} (two-sided, {len(nonzero)} non-zero differences).")


def grids(args: argparse.Namespace) -> None:
    """One figure of sample grids at ``--epoch``, side by side, each titled with its run and its verdict."""
    from PIL import Image, ImageDraw

    from improved_gan.config import load_config
    from improved_gan.runs.failures import run_failure
    from improved_gan.runs.layout import read_metrics

    panels = []
    for name in args.runs:
        folder = args.out / name
        grid = folder / "samples" / f"epoch-{args.epoch:04d}.png"
        if not grid.is_file():
            raise SystemExit(f"error: {grid} does not exist; train {name} to epoch {args.epoch} first")
        rows = [r for r in read_metrics(folder) if r["epoch"] <= args.epoch]
        failure = run_failure(load_config(folder / "config.json"), rows)
        verdict = f"failed at {failure.epoch}" if failure else "healthy"
        panels.append((Image.open(grid).convert("RGB"), f"{name}: {verdict}, {rows[-1]['test_errors']} errors"))
    w, h = panels[0][0].size
    figure = Image.new("RGB", (len(panels) * (w + 10) - 10, h + 22), "white")
    draw = ImageDraw.Draw(figure)
    for i, (image, title) in enumerate(panels):
        figure.paste(image, (i * (w + 10), 22))
        draw.text((i * (w + 10) + 2, 4), title, fill="black")
    figure.save(args.figure)
    print(f"wrote {args.figure}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train the arms' seeds breadth first")
    t.add_argument("--study", choices=sorted(STUDIES), required=True)
    t.add_argument("--arms", required=True, help="comma-separated arm names")
    t.add_argument("--data-dir", default=os.environ.get("IMPROVED_GAN_DATA"))
    t.add_argument("--seeds", default="0-19")
    t.add_argument("--epochs", type=int, default=40)
    t.add_argument("--stage", type=int, default=5, help="epochs every run gains before any goes further")
    t.add_argument("--threads", type=int, default=1)
    t.add_argument("--shard", default="0/1", help="i/n: this process trains every n-th run from the i-th")
    t.add_argument("--out", type=Path)
    r = sub.add_parser("table", help="failures per arm with intervals, errors of the runs that did not fail")
    r.add_argument("--study", choices=sorted(STUDIES), required=True)
    r.add_argument("--out", type=Path)
    r.add_argument("--epoch", type=int, help="cut every run at this epoch (default: the depth all reached)")
    r.add_argument("--markdown", type=Path)
    r.add_argument("--pair", metavar="A,B", help="also compare two arms' test errors, paired by seed")
    g = sub.add_parser("grids", help="the runs' sample grids at one epoch, side by side, with their verdicts")
    g.add_argument("--study", choices=sorted(STUDIES), required=True)
    g.add_argument("--out", type=Path)
    g.add_argument("--epoch", type=int, required=True)
    g.add_argument("--runs", nargs="+", required=True, help="run folder names, e.g. fp32-s13 fp32-s9")
    g.add_argument("--figure", type=Path, required=True, help="the PNG to write")
    args = parser.parse_args()
    if args.out is None:
        args.out = Path("runs") / f"stability-{args.study}"
    {"train": train, "table": table, "grids": grids}[args.command](args)


if __name__ == "__main__":
    main()
