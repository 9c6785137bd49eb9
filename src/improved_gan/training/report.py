"""The run report: a markdown page with the error curve, losses and the last sample grid.

Written at the end of training and by ``improved-gan report RUN [RUN ...]``,
from the run folder alone (``config.json``, ``metrics.jsonl``, ``samples/``,
and ``scores.json`` when sample scores were computed).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from improved_gan.config import load_config
from improved_gan.training.run_dir import CONFIG, REPORT, SCORES, read_metrics, sample_grid_path
from improved_gan.utils.atomic import atomic_open, atomic_write_text



def _plot(runs: dict[str, list[dict[str, Any]]], key: str, ylabel: str, path: Path, *, logy=False) -> bool:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = {name: [(r["epoch"], r[key]) for r in rows if key in r] for name, rows in runs.items()}
    series = {name: points for name, points in series.items() if points}
    if not series:
        return False
    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=110)
    for name, points in series.items():
        xs, ys = zip(*points)
        ax.plot(xs, ys, marker="." if len(xs) < 40 else None, label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    if len(series) > 1:
        ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_open(path, "wb") as f:
        fig.savefig(f, format="png")
    plt.close(fig)
    return True


def read_scores(run_dir: Path) -> dict[str, Any]:
    path = Path(run_dir) / SCORES
    return json.loads(path.read_text()) if path.is_file() else {}


def write_report(run_dir: str | Path) -> Path:
    """Write ``RUN/report.md`` (and its plots) from the run folder; returns its path."""
    run_dir = Path(run_dir)
    config = load_config(run_dir / CONFIG)
    rows = read_metrics(run_dir)
    lines = [f"# {config.preset} on {config.dataset}", ""]
    if not rows:
        lines.append("No epoch has finished yet.")
        return _finish(run_dir, lines)
    last = rows[-1]
    total_seconds = sum(r.get("seconds", 0.0) for r in rows)
    lines += [
        f"- epochs: {last['epoch']} of {config.epochs} ({last['iterations']} iterations each)",
        f"- training time: {total_seconds / 60:.1f} min ({total_seconds / len(rows):.2f} s per epoch)",
    ]
    if config.mode == "semi-supervised":
        best = min(rows, key=lambda r: r["test_errors"])
        lines += [
            f"- labels: {config.labels} (data seed {config.resolved_data_seed}), seed {config.seed}",
            f"- trained on the {config.train_split} split, errors counted on the {config.eval_split} split",
            f"- **test errors (EMA discriminator): {last['test_errors']} / {last['test_examples']}"
            f" = {100 * last['test_error_rate']:.2f}%** at the last epoch"
            f" (lowest {best['test_errors']} at epoch {best['epoch']}; report the last, not the lowest)",
        ]
    scores = read_scores(run_dir)
    for name, value in sorted(scores.items()):
        if isinstance(value, dict) and "mean" in value:
            lines.append(f"- {name}: {value['mean']:.4f} +- {value.get('std', 0.0):.4f} ({value.get('n', '?')} samples)")
        elif isinstance(value, dict) and "value" in value:
            against = f" against {value['reference']}" if value.get("reference") else ""
            lines.append(f"- {name}: {value['value']:.4f}{against} ({value.get('n', '?')} samples)")
        elif isinstance(value, (int, float)):
            lines.append(f"- {name}: {value:.4f}")
    lines.append("")
    if _plot({config.preset: rows}, "test_errors", "test errors", run_dir / "test_errors.png", logy=True):
        lines += ["## Test errors per epoch", "", "![test errors](test_errors.png)", ""]
    for key, label in (("loss_d", "D loss"), ("loss_g", "G loss")):
        _plot({config.preset: rows}, key, label, run_dir / f"{key}.png")
    lines += ["## Losses", "", "![D loss](loss_d.png) ![G loss](loss_g.png)", ""]
    n = config.epoch_score_samples
    if _plot({config.preset: rows}, "mnist_score_mean", f"MNIST score ({n} samples)", run_dir / "mnist_score.png"):
        _plot({config.preset: rows}, "mnist_fd", f"MNIST FD ({n} samples)", run_dir / "mnist_fd.png", logy=True)
        lines += [
            "## Sample scores during training",
            "",
            f"Every {config.epoch_score_every} epochs, {n} samples from fixed z (real MNIST test digits:"
            " MNIST score 9.75; a Frechet distance from few samples is biased upwards, so compare"
            " epochs of this run with each other, and the end-of-run scores above with other runs).",
            "",
            "![MNIST score](mnist_score.png) ![MNIST FD](mnist_fd.png)",
            "",
        ]
    grid = sample_grid_path(run_dir, last["epoch"])
    if grid.is_file():
        lines += [f"## Samples after epoch {last['epoch']}", "", f"![samples]({grid.relative_to(run_dir)})", ""]
    scored = any("mnist_score_mean" in r for r in rows)
    header = "| epoch | test errors | D loss | G loss |" + (" MNIST score | MNIST FD |" if scored else "") + " s |"
    lines += ["## Per epoch", "", header, "|" + "---|" * (header.count("|") - 1)]
    for r in rows:
        cells = [str(r["epoch"]), str(r.get("test_errors", "-")), f"{r.get('loss_d', float('nan')):.4f}",
                 f"{r.get('loss_g', float('nan')):.4f}"]  # fmt: skip
        if scored:
            cells += [f"{r['mnist_score_mean']:.2f}", f"{r['mnist_fd']:.2f}"] if "mnist_score_mean" in r else ["", ""]
        cells.append(f"{r.get('seconds', 0):.1f}")
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "## Configuration", "", "```json", json.dumps(config.to_dict(), indent=2, sort_keys=True), "```"]
    return _finish(run_dir, lines)


def _finish(run_dir: Path, lines: list[str]) -> Path:
    path = run_dir / REPORT
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path


def write_comparison(run_dirs: Sequence[str | Path], out: str | Path) -> Path:
    """A report comparing several runs: final test errors and their curves on one plot."""
    out = Path(out)
    runs = {}
    lines = ["# Comparison", "", "| run | preset | labels | seed | epochs | last test errors |", "|---|---|---|---|---|---|"]
    for run_dir in map(Path, run_dirs):
        config = load_config(run_dir / CONFIG)
        rows = read_metrics(run_dir)
        runs[run_dir.name] = rows
        last = rows[-1] if rows else {}
        lines.append(
            f"| {run_dir} | {config.preset} | {config.labels} | {config.seed} | {last.get('epoch', 0)} "
            f"| {last.get('test_errors', '-')} |"
        )
    plot = out.with_suffix(".png")
    if _plot(runs, "test_errors", "test errors", plot, logy=True):
        lines += ["", f"![test errors]({plot.name})"]
    atomic_write_text(out, "\n".join(lines) + "\n")
    return out
