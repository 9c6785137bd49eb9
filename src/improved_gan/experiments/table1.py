"""Table 1 of the paper: semi-supervised permutation-invariant MNIST, every (labels, seed) run.

The protocol (Section 6.1): for each label count (20, 50, 100, 200) and each
seed, one training of a preset (``mnist-fm`` by default) for its 300 epochs;
the table gives the test errors (of the 10,000 MNIST test digits) as mean +-
std over the seeds, and the errors of the ensemble of the seeds' models (their
class probabilities averaged: the paper's second row). The table names the
test-set size its runs count errors of, and puts the paper's numbers beside
counts of the same 10,000 digits only (``mnist5k`` runs count errors of its
1,000 test digits: the paper's column is then left empty, and the table says why).

Every run is an ordinary run folder ``OUT/l{labels}-s{seed}``, trained through
:func:`~improved_gan.training.trainer.ensure_trained`, so a stopped
reproduction continues where it was and ``improved-gan eval/report`` work on
each run. ``improved-gan reproduce table1`` is the command.
"""

from __future__ import annotations

import collections
import dataclasses
import os
import statistics
import time
from pathlib import Path
from typing import Any, Sequence

from improved_gan.config import TrainConfig, apply_overrides
from improved_gan.data import labeled_subset, load_dataset
from improved_gan.errors import UserError
from improved_gan.experiments.presets import get_preset
from improved_gan.training.batches import iterations_per_epoch
from improved_gan.runs.failures import failure_reasons
from improved_gan.runs.out_rules import check_out_folder
from improved_gan.runs.layout import read_metrics
from improved_gan.utils.atomic import atomic_open, atomic_write_text
from improved_gan.runs.out_paths import check_output_file, starts_with

# The training, the ensembles and the costing import torch in the functions that run them: the plan and its checks
# (plan_table1, check_table_out) refuse a bad flag of `improved-gan reproduce table1` before torch is imported
# (docs/cli.md, Start-up).

# the paper's Table 1: test errors of 10,000, (mean, std) over 10 seeds; one model, ensemble of 10
PAPER = {
    20: ((1677, 452), (1134, 445)),
    50: ((221, 136), (142, 96)),
    100: ((93, 6.5), (86, 5.6)),
    200: ((90, 4.2), (81, 4.3)),
}
PAPER_TEST_EXAMPLES = 10_000
"""The paper's counts are errors of the 10,000 MNIST test digits."""
LABEL_COUNTS = (20, 50, 100, 200)
PRESETS = ("mnist-fm", "mnist-fm-paper", "mnist-fm-stable")
"""The presets Table 1 trains: mnist-fm's networks and data (as released, as at the paper, the demo's)."""
DATASETS = ("mnist", "mnist5k")
"""Table 1 is an MNIST experiment: the full set, or the bundled 5,000 digits for a quick look."""
PLANNED_FIELDS = {"labels": "--labels", "seed": "--seeds", "data_seed": "--seeds"}
"""The config fields the plan sets for every run itself, and the flags that give them."""
_WHY = {
    "ema": "ema: the exponential moving average of D's parameters, as the released script tests",
    "raw": "raw: D's own parameters, as the script at the time of the paper tested",
}


@dataclasses.dataclass(frozen=True)
class PlannedRun:
    """One cell of the protocol: a label count, a seed, its run folder and its config."""

    labels: int
    seed: int
    folder: Path
    config: TrainConfig

    def epochs_done(self) -> int:
        from improved_gan.training.parallel_runs import epochs_done  # torch: see the imports

        return epochs_done(self.folder)


def base_config(preset: str) -> TrainConfig:
    """The config of ``preset``, one of :data:`PRESETS` (a UserError naming them otherwise)."""
    if preset not in PRESETS:
        raise UserError(f"Table 1 is a mnist-fm experiment; --preset must be one of {', '.join(PRESETS)} "
                        f"(got {preset})")
    return get_preset(preset)


def check_jobs(jobs: int, *, stack: int | None, seeds: int) -> None:
    """How the plan of ``seeds`` seeds per label count is trained: ``jobs`` runs at once (:func:`run_table1`), or
    ``stack`` seeds as one computation (:func:`run_stacked`, one process: then ``jobs`` is 1); each a count of
    at least 1, a stack no larger than the seeds."""
    if jobs < 1:
        raise UserError(f"--jobs must be at least 1 (got {jobs})")
    if stack is not None and stack < 1:
        raise UserError(f"--stack must be at least 1 seed (got {stack})")
    if stack is not None and stack > seeds:
        raise UserError(f"--stack {stack} is more than the {seeds} seeds asked for; use --stack {seeds}")
    if stack is not None and jobs != 1:
        raise UserError(f"--stack trains its seeds in one process, so --jobs {jobs} would be ignored; "
                        "give one of them")


def plan_table1(
    base: TrainConfig, *, labels: Sequence[int], seeds: Sequence[int], out: Path, overrides: dict[str, Any] | None = None
) -> list[PlannedRun]:
    """Every (labels, seed) run of the protocol, checked before anything trains.

    Refused with one line each: empty label or seed lists, repeated entries, an override of a field the
    plan sets itself (:data:`PLANNED_FIELDS`), a dataset other than :data:`DATASETS`, label counts the
    training set cannot balance (:func:`~improved_gan.data.labeled_subset`'s rule), and an ``out`` folder
    holding a run of another configuration.
    """
    if not labels:
        raise UserError("no label counts given; e.g. --labels 20 50 100 200")
    if not seeds:
        raise UserError("no seeds given; e.g. --seeds 0-9")
    for name, values in (("label count", labels), ("seed", seeds)):
        repeated = sorted(v for v, n in collections.Counter(values).items() if n > 1)
        if repeated:
            raise UserError(f"{name}s given twice: {repeated}")
    if any(s < 0 for s in seeds):
        raise UserError(f"seeds must be >= 0 (got {sorted(s for s in seeds if s < 0)})")
    for key, flag in PLANNED_FIELDS.items():
        if key in (overrides or {}):
            raise UserError(f"--set {key}={overrides[key]}: every run of the table has its own {key}; "
                            f"give them with {flag}")
    base = apply_overrides(base, overrides or {})
    if base.dataset not in DATASETS:
        raise UserError(f"Table 1 is an MNIST experiment: the dataset must be {' or '.join(DATASETS)} "
                        f"(got {base.dataset})")
    configs = {(n_labels, seed): dataclasses.replace(base, labels=n_labels, seed=seed).validate()
               for n_labels in labels for seed in seeds}  # every value checked before the data is loaded
    _check_label_counts(base, labels)
    from improved_gan.training.trainer import config_conflict  # torch: once the configs are checked

    planned = []
    for (n_labels, seed), config in configs.items():
        folder = Path(out) / f"l{n_labels}-s{seed}"
        conflict = config_conflict(folder, config)
        if conflict:
            raise UserError(conflict + " (or remove that run yourself)")
        planned.append(PlannedRun(n_labels, seed, folder, config))
    return planned


def _check_label_counts(config: TrainConfig, labels: Sequence[int]) -> None:
    """Each label count must balance over the classes of the training split (one clear line if not)."""
    train = load_dataset(config.dataset, root=config.data_dir, split=config.train_split)
    for n_labels in labels:
        labeled_subset(train.labels, n_labels, seed=0, num_classes=train.num_classes)


# -- training ----------------------------------------------------------------------------------------

def run_stacked(planned: Sequence[PlannedRun], *, stack: int, out: Path, progress: bool = True) -> None:
    """Train the plan with the stacked engine: per label count, ``stack`` seeds at a time as one
    computation (training/stacked), each seed still writing its own run folder. The stack's
    state lives in ``OUT/stack-l{labels}-s{first}-{last}/``, so a stopped stack continues exactly."""
    from improved_gan.training.device import resolve_device  # torch: see the imports
    from improved_gan.training.stacked import plan_stacks
    from improved_gan.training.stacked.run_folders import train_stack

    for n_labels in sorted({run.labels for run in planned}):
        group = {run.seed: run for run in planned if run.labels == n_labels}
        for seeds in plan_stacks(sorted(group), stack):
            runs = [group[seed] for seed in seeds]
            if all(run.epochs_done() >= run.config.epochs for run in runs):
                continue
            train_stack(
                runs[0].config, seeds, [run.folder for run in runs],
                stack_dir=Path(out) / f"stack-l{n_labels}-s{seeds[0]}-{seeds[-1]}",
                device=resolve_device(runs[0].config.device), progress=progress,
            )  # fmt: skip


def run_table1(planned: Sequence[PlannedRun], *, jobs: int = 1, progress: bool = True) -> None:
    """Train every unfinished run, ``jobs`` at a time (each with ``cores // jobs`` threads), with a
    live line: runs done, epochs done, and the time left at the pace of this invocation."""
    from improved_gan.training.parallel_runs import RunJob, train_in_parallel  # torch: see the imports

    runs = [RunJob(f"l{run.labels}-s{run.seed}", run.config, run.folder) for run in planned]
    train_in_parallel(runs, processes=jobs, progress=progress, desc="table1")


# -- the table ---------------------------------------------------------------------------------------

@dataclasses.dataclass
class LabelRow:
    """Table 1's numbers for one label count."""

    labels: int
    errors: dict[int, int]  # seed -> test errors of the table's discriminator at the last epoch
    epochs: set[int]
    ensemble: int | None
    failed: dict[int, list[str]]
    discriminator: str
    examples: set[int] = dataclasses.field(default_factory=set)  # the test-set sizes the errors are counted of

    def mean_std(self, *, without_failed: bool = False) -> tuple[float, float] | None:
        """Mean and sample std of the seeds' errors (all seeds, or those that did not fail); None if none."""
        values = [e for seed, e in self.errors.items() if not (without_failed and seed in self.failed)]
        if not values:
            return None
        return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def summarize(planned: Sequence[PlannedRun], *, device: str = "cpu", ensemble: bool = True) -> list[LabelRow]:
    """Per label count: the errors of every run that has trained, the failures (runs/failures.py)
    and, when every seed has reached its last epoch, the ensemble's errors."""
    rows = []
    for n_labels in sorted({run.labels for run in planned}):
        group = [run for run in planned if run.labels == n_labels]
        which = group[0].config.table_discriminator
        key = "test_errors" if which == "ema" else "test_errors_raw"
        metrics = {run.seed: read_metrics(run.folder) for run in group}
        metrics = {seed: m for seed, m in metrics.items() if m}
        if not metrics:
            continue
        errors = {seed: m[-1][key] for seed, m in metrics.items()}
        epochs = {m[-1]["epoch"] for m in metrics.values()}
        at = min(epochs)
        median = statistics.median(next(r[key] for r in m if r["epoch"] == at) for m in metrics.values())
        configs = {run.seed: run.config for run in group}
        failed = {seed: failure_reasons(configs[seed], m, errors_key=key, median_errors=median, at_epoch=at)
                  for seed, m in metrics.items()}
        complete = len(metrics) == len(group) and all(run.epochs_done() >= run.config.epochs for run in group)
        votes = ensemble_errors([run.folder for run in group], which=which, device=device) if ensemble and complete else None
        examples = {m[-1]["test_examples"] for m in metrics.values() if "test_examples" in m[-1]}
        rows.append(LabelRow(n_labels, errors, epochs, votes, {s: r for s, r in failed.items() if r}, which, examples))
    return rows


def ensemble_errors(folders: Sequence[Path], *, which: str, device: str = "cpu") -> int:
    """Test errors of the ensemble of the runs' discriminators: the mean of their class probabilities."""
    from improved_gan.semi_supervised import classification_errors  # torch: see the imports
    from improved_gan.training.evaluate import class_probabilities, load_run_classifier

    if not folders:
        raise ValueError("expected at least one run folder for an ensemble")
    total, labels = None, None
    for folder in folders:
        run = load_run_classifier(folder, which=which, device=device)
        probabilities = class_probabilities(run.discriminator, run.x_test, batch_size=run.config.eval_batch_size)
        total = probabilities if total is None else total + probabilities
        labels = run.y_test
    return int(classification_errors(total, labels))


TABLE_HEAD = "# Table 1: semi-supervised permutation-invariant MNIST"
"""How :func:`write_table` knows its own table1.md again (and may replace it and its plot)."""


def check_table_out(out: Path) -> None:
    """``OUT`` may hold the runs, ``OUT/table1.md`` and ``OUT/table1-curves.png``: no file is in the way, and
    neither file exists unless an earlier table1.md is ours (a UserError before anything is trained)."""
    check_out_folder(out, instead="choose a folder for the table's runs outside it")  # not a run, nor in one
    ours = starts_with(out / "table1.md", TABLE_HEAD)
    for name in ("table1.md", "table1-curves.png"):
        check_output_file(out / name, ours=lambda path: ours, instead="choose a new or empty --out folder")


def write_table(rows: Sequence[LabelRow], planned: Sequence[PlannedRun], out: Path) -> Path:
    """``OUT/table1.md`` (the table beside the paper's) and ``OUT/table1-curves.png`` (every run's curve); a
    UserError when no run of the plan has finished an epoch (``rows`` empty)."""
    if not rows:
        raise UserError(f"no run of this plan has finished an epoch yet in {out}")
    check_table_out(out)
    sizes = sorted({n for row in rows for n in row.examples})
    beside = sizes == [PAPER_TEST_EXAMPLES]  # the paper's numbers only beside counts of the same test set
    lines = [
        f"{TABLE_HEAD} ({_of(sizes)})",
        "",
        f"Preset `{planned[0].config.preset}`; runs in `{out}`. One model: mean +- std (sample std) over the "
        "seeds of the last epoch's errors; ensemble: the seeds' models' class probabilities averaged. "
        "Failures: runs/failures.py. Paper: Salimans et al. (2016), Table 1, 10 seeds.",
        "",
        f"Column D: whose test errors the table reports ({_WHY[planned[0].config.table_discriminator]}); "
        "both the raw and the EMA errors are in every run's metrics.jsonl (`test_errors_raw`, `test_errors`).",
        "",
        "One model is over every seed, failed ones included (a table that left them out would choose its "
        "seeds); the column beside it is over the seeds that did not fail, and the failed seeds are listed "
        "apart below the table.",
        "",
        *([] if beside else [
            f"The paper's columns are empty: the paper counts errors of the {PAPER_TEST_EXAMPLES:,} MNIST test digits, "
            f"these runs of {_sizes(sizes)} (dataset {planned[0].config.dataset}), and counts of different test sets "
            "are not comparable.", ""]),
        "| labels | seeds | failed | epochs | D | one model | without the failed | paper | ensemble "
        "| paper ensemble |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    fmt = lambda pair, digits="g": f"{pair[0]:{digits}} +- {pair[1]:{digits}}" if pair else "-"  # noqa: E731
    failures = []
    for row in rows:
        paper_one, paper_ens = PAPER.get(row.labels, (None, None)) if beside else (None, None)
        lines.append(
            f"| {row.labels} | {len(row.errors)} | {len(row.failed)} | {'/'.join(map(str, sorted(row.epochs)))} "
            f"| {row.discriminator} | {fmt(row.mean_std(), '.1f')} | {fmt(row.mean_std(without_failed=True), '.1f')} "
            f"| {fmt(paper_one)} | {row.ensemble if row.ensemble is not None else '-'} | {fmt(paper_ens)} |"
        )
        failures += [f"- {row.labels} labels, seed {s}: {'; '.join(r)}" for s, r in sorted(row.failed.items())]
    lines += ["", "Failed seeds (runs/failures.py):", "", *(failures or ["- none"])]
    lines += ["", "Per seed:", "", "| labels | " + " | ".join(f"seed {s}" for s in _seeds(planned)) + " |",
              "|---" * (len(_seeds(planned)) + 1) + "|"]
    for row in rows:
        lines.append(f"| {row.labels} | " + " | ".join(str(row.errors.get(s, "-")) for s in _seeds(planned)) + " |")
    plot = _plot_curves(planned, out / "table1-curves.png", of=_of(sizes))
    if plot:
        lines += ["", f"![every run's test errors per epoch]({plot.name})"]
    path = out / "table1.md"
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path


def _of(sizes: Sequence[int]) -> str:
    """What the table's numbers count: ``test errors of 10,000``."""
    return f"test errors of {_sizes(sizes)}" if sizes else "test errors"


def _sizes(sizes: Sequence[int]) -> str:
    return " or ".join(f"{n:,}" for n in sizes) + (" (the runs differ)" if len(sizes) > 1 else "")


def _seeds(planned: Sequence[PlannedRun]) -> list[int]:
    return sorted({run.seed for run in planned})


def _plot_curves(planned: Sequence[PlannedRun], path: Path, *, of: str) -> Path | None:
    """Every run's test errors per epoch on one log-scale plot, coloured by label count; None if no run has any."""
    import matplotlib  # heavy: loaded only when the table is written, not by every importer of this module

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    label_counts = sorted({run.labels for run in planned})
    colours = {n: plt.cm.viridis(i / max(1, len(label_counts) - 1)) for i, n in enumerate(label_counts)}
    fig, ax = plt.subplots(figsize=(8, 5))
    drawn = set()
    for run in planned:
        rows = read_metrics(run.folder)
        if not rows:
            continue
        key = "test_errors" if run.config.table_discriminator == "ema" else "test_errors_raw"
        ax.plot([r["epoch"] for r in rows], [r[key] for r in rows], color=colours[run.labels], alpha=0.7, lw=1,
                label=f"{run.labels} labels" if run.labels not in drawn else None)
        drawn.add(run.labels)
    if not drawn:
        plt.close(fig)
        return None
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel(of)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    with atomic_open(path, "wb") as f:
        fig.savefig(f, format="png", dpi=100)
    plt.close(fig)
    return path


# -- the plan, costed --------------------------------------------------------------------------------

def seconds_per_iteration(config: TrainConfig, *, threads: int, iterations: int = 5) -> float:
    """This machine's time for one training iteration of ``config`` on ``threads`` threads (the
    configured step, on random data of MNIST's shape), the median of ``iterations`` after a warm-up."""
    import torch  # see the imports

    from improved_gan.training.build import build_models, initialise_models
    from improved_gan.training.device import compute_dtype, resolve_device, resolve_precision
    from improved_gan.training.steps import make_step

    device = resolve_device(config.device)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        generator, discriminator = build_models(config, image_shape=(1, 28, 28), num_classes=10, device=device)
        x = torch.rand(max(config.init_batch_size, 3 * config.batch_size), 1, 28, 28, device=device)
        y = torch.randint(0, 10, (len(x),), device=device)
        initialise_models(generator, discriminator, x, config)
        dtype = compute_dtype(resolve_precision(config.precision, device))
        step = make_step(config, generator, discriminator, device=device, dtype=dtype)
        b = config.batch_size
        times = []
        for i in range(iterations + 1):
            started = time.perf_counter()
            step.discriminator_step(x[:b], x[b : 2 * b], y[b : 2 * b])
            step.generator_step(x[2 * b : 3 * b])
            if device.type == "cuda":
                torch.cuda.synchronize()
            if i:
                times.append(time.perf_counter() - started)
    torch.set_num_threads(before)
    return statistics.median(times)


def describe_plan(planned: Sequence[PlannedRun], *, jobs: int) -> str:
    """The plan as text: every run with its state, and the expected wall time on this machine."""
    import torch  # see the imports

    from improved_gan.training.device import resolve_device, resolve_precision

    lines = [f"{'labels':>6} {'seed':>4}  {'epochs done':>11}  folder"]
    remaining = 0
    for run in planned:
        done = run.epochs_done()
        remaining += max(0, run.config.epochs - done)
        lines.append(f"{run.labels:>6} {run.seed:>4}  {done:>5}/{run.config.epochs:<5}  {run.folder}")

    config = planned[0].config
    cores = os.cpu_count() or 1
    threads = max(1, cores // jobs)
    per_iteration = seconds_per_iteration(config, threads=threads)
    precision = resolve_precision(config.precision, resolve_device(config.device))
    train_size = len(load_dataset(config.dataset, root=config.data_dir, split=config.train_split).labels)
    iterations = iterations_per_epoch(train_size, config.batch_size, config.iters_per_epoch)
    at_once = 1 if torch.cuda.is_available() and config.device != "cpu" else min(jobs, cores)
    hours = remaining * iterations * per_iteration / at_once / 3600
    lines += [
        "",
        f"{len(planned)} runs, {remaining} epochs to train, {iterations} iterations per epoch; one iteration takes "
        f"{1000 * per_iteration:.0f} ms here ({torch.backends.cpu.get_cpu_capability()}, {threads} thread(s), "
        f"{precision}, {'fast' if config.fast_step else 'reference'} step)",
        f"expected wall time with --jobs {jobs} on {cores} cores: {hours:.1f} h",
    ]
    return "\n".join(lines)
