"""The run report: a markdown page with the error curve, losses and the last sample grid.

Written at the end of training and by ``improved-gan report RUN [RUN ...]``,
from the run folder alone (``config.json``, ``metrics.jsonl``, ``samples/``,
and ``scores.json`` when sample scores were computed).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from improved_gan.config import TrainConfig, load_config
from improved_gan.runs.failures import FAILURE_ADVICE, Failure, run_failure
from improved_gan.runs.layout import (
    CONFIG,
    PLOT_INCEPTION_SCORE,
    PLOT_LOSS,
    PLOT_MNIST_FD,
    PLOT_MNIST_SCORE,
    PLOT_TEST_ERRORS,
    REPORT,
    SCORES,
    read_metrics,
    sample_grid_path,
)
from improved_gan.utils.atomic import atomic_open, atomic_write_text
from improved_gan.runs.out_paths import check_output_file, starts_with



def _plot(runs: dict[str, list[dict[str, Any]]], key: str, ylabel: str, path: Path) -> bool:
    """One curve per run of ``key`` over epochs: linear axes, whole-number epoch ticks."""
    import matplotlib  # heavy: loaded only when a report is drawn, not by every importer of this module

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

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
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
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
    failure = run_failure(config, rows)
    lines += _summary_lines(config, rows, failure)
    lines += _score_lines(read_scores(run_dir))
    lines.append("")
    lines += _plot_sections(run_dir, config, rows)
    grid = sample_grid_path(run_dir, last["epoch"])
    if grid.is_file():
        lines += [f"## Samples after epoch {last['epoch']}", "", f"![samples]({grid.relative_to(run_dir)})", ""]
    lines += _epoch_table(rows, failure)
    lines += ["", "## Configuration", "", "```json", json.dumps(config.to_dict(), indent=2, sort_keys=True), "```"]
    return _finish(run_dir, lines)


def _summary_lines(config: TrainConfig, rows: list[dict[str, Any]], failure: Failure | None) -> list[str]:
    """The report's head: the failure if any, epochs and time, and for a semi-supervised run its test errors."""
    last = rows[-1]
    total_seconds = sum(r.get("seconds", 0.0) for r in rows)
    lines = [f"**This run FAILED: {failure.describe()}.** {FAILURE_ADVICE}.", ""] if failure is not None else []
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
    return lines


def _score_lines(scores: dict[str, Any]) -> list[str]:
    """One line per end-of-run score of ``scores.json``: mean +- std, a distance (against what), or a number."""
    lines = []
    for name, value in sorted(scores.items()):
        if isinstance(value, dict) and "mean" in value:
            lines.append(f"- {name}: {value['mean']:.4f} +- {value.get('std', 0.0):.4f} ({value.get('n', '?')} samples)")
        elif isinstance(value, dict) and "value" in value:
            against = f" against {value['reference']}" if value.get("reference") else ""
            lines.append(f"- {name}: {value['value']:.4f}{against} ({value.get('n', '?')} samples)")
        elif isinstance(value, (int, float)):
            lines.append(f"- {name}: {value:.4f}")
    return lines


def _plot_sections(run_dir: Path, config: TrainConfig, rows: list[dict[str, Any]]) -> list[str]:
    """Draw the run's curves (test errors, losses, per-epoch sample scores) and return the sections showing them."""
    runs = {config.preset: rows}
    lines = []
    if _plot(runs, "test_errors", "test errors", run_dir / PLOT_TEST_ERRORS):
        lines += ["## Test errors per epoch", "", f"![test errors]({PLOT_TEST_ERRORS})", ""]
    for key, label in (("loss_d", "D loss"), ("loss_g", "G loss")):
        _plot(runs, key, label, run_dir / PLOT_LOSS[key])
    lines += ["## Losses", "", f"![D loss]({PLOT_LOSS['loss_d']}) ![G loss]({PLOT_LOSS['loss_g']})", ""]
    n = config.epoch_score_samples
    if _plot(runs, "mnist_score_mean", f"MNIST score ({n} samples)", run_dir / PLOT_MNIST_SCORE):
        _plot(runs, "mnist_fd", f"MNIST FD ({n} samples)", run_dir / PLOT_MNIST_FD)
        lines += [
            "## Sample scores during training",
            "",
            f"Every {config.epoch_score_every} epochs, {n} samples from fixed z (real MNIST test digits:"
            " MNIST score 9.75; a Frechet distance from few samples is biased upwards, so compare"
            " epochs of this run with each other, and the end-of-run scores above with other runs).",
            "",
            f"![MNIST score]({PLOT_MNIST_SCORE}) ![MNIST FD]({PLOT_MNIST_FD})",
            "",
        ]
    elif _plot(runs, "inception_score_mean", f"Inception score ({n} samples)", run_dir / PLOT_INCEPTION_SCORE):
        lines += [
            "## Sample scores during training",
            "",
            f"Every {config.epoch_score_every} epochs, the Inception score of {n} samples from fixed z (10 splits;"
            " from few samples the score is biased downwards against one from 10,000 or 50,000, so compare"
            " epochs of this run with each other, and the end-of-run score above with other runs).",
            "",
            f"![Inception score]({PLOT_INCEPTION_SCORE})",
            "",
        ]
    return lines


def _epoch_table(rows: list[dict[str, Any]], failure: Failure | None) -> list[str]:
    """The per-epoch table; columns for the unsupervised loss and sample scores only when some epoch has them."""
    scored = any("mnist_score_mean" in r for r in rows)
    inception = any("inception_score_mean" in r for r in rows)
    unsup = any("loss_unsup" in r for r in rows)
    header = ("| epoch | test errors | D loss |" + (" D loss, unsupervised part |" if unsup else "") + " G loss |"
              + (" MNIST score | MNIST FD |" if scored else "")
              + (" Inception score |" if inception else "") + " s |")
    lines = ["## Per epoch", "", header, "|" + "---|" * (header.count("|") - 1)]
    for r in rows:
        cells = [str(r["epoch"]) + (" (failed)" if failure is not None and r["epoch"] >= failure.epoch else ""),
                 str(r.get("test_errors", "-")), f"{r.get('loss_d', float('nan')):.4f}"]
        if unsup:
            cells.append(f"{r['loss_unsup']:.4f}" if "loss_unsup" in r else "")
        cells.append(f"{r.get('loss_g', float('nan')):.4f}")
        if scored:
            cells += [f"{r['mnist_score_mean']:.2f}", f"{r['mnist_fd']:.2f}"] if "mnist_score_mean" in r else ["", ""]
        if inception:
            cells.append(f"{r['inception_score_mean']:.2f}" if "inception_score_mean" in r else "")
        cells.append(f"{r.get('seconds', 0):.1f}")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _finish(run_dir: Path, lines: list[str]) -> Path:
    path = run_dir / REPORT
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path


SEED_FIELDS = ("seed", "data_seed")
"""Fields that tell repeats of one experiment apart: runs equal in all else are grouped for mean +- std."""


def config_diff(configs: Sequence[dict[str, Any]]) -> list[str]:
    """``"lr=0.001, labels=50"`` per config: the fields whose values differ between the configs."""
    keys = sorted(k for k in (configs[0] if configs else {}) if len({json.dumps(c.get(k)) for c in configs}) > 1)
    return [", ".join(f"{k}={c.get(k)}" for k in keys) for c in configs]


COMPARISON_HEAD = "# Comparison\n"
"""The first line of every comparison :func:`write_comparison` writes: how it knows its own file again."""


def check_comparison_out(out: str | Path, flag: str = "--out") -> None:
    """``out`` and its plot (``.png`` beside it) may be written: new, or a comparison written before
    (then both are replaced); a user's file of either name is never overwritten (a UserError)."""
    out = Path(out)
    ours = out.is_file() and starts_with(out, COMPARISON_HEAD)
    check_output_file(out, flag, ours=lambda path: ours, what="comparison FILE.md")
    check_output_file(out.with_suffix(".png"), f"{flag}'s plot", ours=lambda path: ours, what="plot file")


def write_comparison(run_dirs: Sequence[str | Path], out: str | Path) -> Path:
    """A report comparing several runs: final test errors, how their configs differ, mean +- std
    over seeds of runs that differ only in the seed, and their curves on one plot.

    Raises UserError, before reading anything, when ``out`` or its plot is a file it did not write."""
    out = Path(out)
    check_comparison_out(out)
    runs, configs, lasts, names, failures = {}, [], [], [], []
    for run_dir in map(Path, run_dirs):
        config = load_config(run_dir / CONFIG)
        rows = read_metrics(run_dir)
        name = run_dir.name if run_dir.name not in runs else str(run_dir)
        names.append(name)
        runs[name] = rows
        configs.append(config.to_dict())
        lasts.append(rows[-1] if rows else {})
        failures.append(run_failure(config, rows))
    diffs = config_diff(configs)
    lines = [
        COMPARISON_HEAD.strip(), "",
        "| run | preset | labels | seed | epochs | last test errors | failed (docs/stability.md) | differs in |",
        "|---|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    for run_dir, config, last, failure, diff in zip(map(Path, run_dirs), configs, lasts, failures, diffs):
        lines.append(
            f"| {run_dir} | {config['preset']} | {config['labels']} | {config['seed']} | {last.get('epoch', 0)} "
            f"| {last.get('test_errors', '-')} | {'**' + failure.describe() + '**' if failure else 'no'} "
            f"| {diff or '-'} |"
        )
    groups: dict[str, list[int]] = {}
    for i, config in enumerate(configs):
        key = json.dumps({k: v for k, v in config.items() if k not in SEED_FIELDS}, sort_keys=True)
        groups.setdefault(key, []).append(i)
    representatives = [{k: v for k, v in configs[m[0]].items() if k not in SEED_FIELDS} for m in groups.values()]
    summary = []
    for members, what in zip(groups.values(), config_diff(representatives)):
        errors = [lasts[i]["test_errors"] for i in members if "test_errors" in lasts[i]]
        if len(errors) < 2:
            continue
        seeds = ", ".join(str(configs[i]["seed"]) for i in members)
        failed = [str(configs[i]["seed"]) for i in members if failures[i] is not None]
        summary.append(
            f"| {what or configs[members[0]]['preset']} | {len(errors)} (seeds {seeds}) | "
            f"{np.mean(errors):.1f} +- {np.std(errors, ddof=1):.1f} | {min(errors)} - {max(errors)} "
            f"| {len(failed)}{' (seeds ' + ', '.join(failed) + ')' if failed else ''} |"
        )
    if summary:
        lines += ["", "## Over seeds (sample standard deviation)", "",
                  "| runs of | n | last test errors, mean +- std | range | failed |", "|---|---|---|---|---|",
                  *summary]
    plot = out.with_suffix(".png")
    if _plot(runs, "test_errors", "test errors", plot):
        lines += ["", f"![test errors]({plot.name})"]
    atomic_write_text(out, "\n".join(lines) + "\n")
    return out
