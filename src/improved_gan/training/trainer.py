"""The training loop: labelled stages, one tick per epoch.

Stages: open the run folder (config first), load data, build and initialise the
networks, make the step (:func:`~improved_gan.training.steps.make_step`),
restore a checkpoint when resuming, then loop over epochs. At the end of every
epoch the loop evaluates the EMA discriminator on the test set, draws a sample
grid from a fixed z, appends a metrics row (JSON lines and TensorBoard) and
writes a checkpoint atomically; at the end it writes the report.

The loop knows steps only through their contract
(:class:`~improved_gan.training.steps.Step`): which one runs and in which
precision is data (``step.info``), written into every metrics row and the
checkpoint, and a resume that would change either is refused unless asked for.
"""

from __future__ import annotations

import copy
import dataclasses
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from tqdm.auto import tqdm

from improved_gan.config import LR_FIELDS, TrainConfig, load_config, save_config
from improved_gan.errors import UserError
from improved_gan.runs.failures import FAILURE_ADVICE, Failure, plays_the_game, run_failure
from improved_gan.runs import checkpoint as ckpt
from improved_gan.training.build import build_models, initialise_models
from improved_gan.training.data_source import DataSource, make_source
from improved_gan.training.device import (
    bf16_warning,
    compute_dtype,
    configure_cuda,
    describe_precision,
    resolve_device,
    resolve_precision,
)
from improved_gan.training.epoch_writer import EpochWriter, write_sample_grid
from improved_gan.training.evaluate import count_errors
from improved_gan.training.distributed import DistributedContext, current, rank_seed
from improved_gan.training.experiment_data import ExperimentData
from improved_gan.runs.report import write_report
from improved_gan.runs.layout import (
    CONFIG,
    TENSORBOARD,
    close_log,
    open_log,
    read_metrics,
    write_metrics,
)
from improved_gan.runs.guard import RunningMark, check_resumable, check_run_folder, config_differences
from improved_gan.training.checkpoint_fit import check_checkpoint_fits, check_matches_checkpoint
from improved_gan.training.sample_scores import SampleScorer
from improved_gan.training.seeds import stream_generator
from improved_gan.training.steps import StepFactory, make_step
from improved_gan.utils.eval_mode import eval_mode

LOSS_EVERY = 25  # iterations between the per-iteration losses written to TensorBoard


@dataclass
class TrainResult:
    run_dir: Path
    epoch: int
    metrics: dict[str, Any]
    report: Path | None


def configure_accelerator(device: torch.device, config: TrainConfig) -> bool:
    """On CUDA: :func:`~improved_gan.training.device.configure_cuda` (no TF32), and channels-last memory
    for the conv nets (returned)."""
    if device.type != "cuda":
        return False
    configure_cuda()
    return config.architecture == "cifar-conv"


def learning_rate(config: TrainConfig, epoch: int) -> float:
    """The authors' schedule: constant, then linear decay to 0 over [start, end) (0-based epochs)."""
    if config.lr_decay_start is None:
        return config.lr
    span = config.lr_decay_end - config.lr_decay_start
    return config.lr * float(np.clip((config.lr_decay_end - epoch) / span, 0.0, 1.0))


def prepare_run_dir(config: TrainConfig, run_dir: Path, *, overwrite: bool = False) -> None:
    """Create a new run folder and write its config first; never clobber what is not ours.

    Without ``overwrite``, ``run_dir`` must be new, empty, or the unfinished start
    of a run of the same config; with it, a non-empty ``run_dir`` must be
    recognisably one of our runs (:mod:`~improved_gan.runs.guard`), and
    only then is it removed. Check the config and the data before calling this.
    """
    run_dir = Path(run_dir)
    if check_run_folder(run_dir, config, overwrite=overwrite):
        shutil.rmtree(run_dir)
    save_config(config, run_dir / CONFIG)  # makes the folders, and removes those it made if it fails (a full disk)


class Trainer:
    """Runs (or resumes) one experiment: constructing it is the check of the run (device, data, networks,
    step); it writes nothing until :meth:`train`.

    Args:
        run_dir: the run folder :meth:`train` writes.
        config: the run's config, and ``state`` the checkpoint to continue from (None: a new run). Without
            ``config``, both are read from ``run_dir`` (``config.json``, the last checkpoint if any), after
            rank 0 has prepared the folder.
        progress: progress bars and per-epoch lines on the terminal.
        step_factory: makes the training step (default :func:`make_step`); a
            benchmark passes its own to time or compare another step.
        allow_step_change: resume even when this machine would run another step
            kind or precision than the checkpoint's (else a UserError says so).
        context: this process's place under torchrun (default: the one
            :func:`~improved_gan.training.distributed.init_from_environment` made,
            else a single process). Every rank builds a Trainer (ranks other than 0
            without ``config``: they wait for rank 0's folder), and only rank 0
            writes to the folder (:meth:`train`).
    """

    def __init__(
        self,
        run_dir: str | Path,
        *,
        config: TrainConfig | None = None,
        state: dict[str, Any] | None = None,
        progress: bool = True,
        step_factory: StepFactory = make_step,
        allow_step_change: bool = False,
        context: DistributedContext | None = None,
    ) -> None:
        self.dist = current() if context is None else context
        self.run_dir = Path(run_dir)
        if config is None:  # the folder's run: rank 0 has prepared it (and rewritten config.json for a resume)
            self.dist.barrier()
            config = load_config(self.run_dir / CONFIG)
            state = ckpt.load_checkpoint(self.run_dir) if ckpt.latest_checkpoint(self.run_dir) else None
        self.config = config
        self.progress = progress and self.dist.is_main
        self.dist.check_batch(config.batch_size)

        # -- device and precision ----------------------------------------------------------
        self.device = self.dist.local_device(resolve_device(config.device))
        self.precision = resolve_precision(config.precision, self.device)
        channels_last = configure_accelerator(self.device, config)

        # -- data (loaded once; its sizes checked against the config where it is loaded) ---------
        self._say(f"loading data: {config.dataset}" + (f" from {config.data_dir}" if config.data_dir else "") + " ...")
        self.numpy_rng = np.random.default_rng(config.seed)  # the batch order (in-memory data)
        self.source: DataSource
        self.data: ExperimentData | None  # the in-memory datasets; None when streamed from disk
        self.source, self.data = make_source(config, self.dist, self.device, self.numpy_rng)
        if channels_last and self.data is not None:
            self.data.to_channels_last()
        self._say(f"data: {self._describe_data()}; device {self.device}, precision "
                  f"{describe_precision(config.precision, self.precision, config.bf16_players)}")

        # -- networks, optimisers, averages ------------------------------------------------
        self._build_networks(channels_last)
        self.grid_z = self.generator.sample_latent(config.sample_grid, generator=stream_generator(config.seed, "sample-grid"))
        self.epoch = 0
        self.history: list[dict[str, Any]] = []
        self.failure: Failure | None = None  # set at the epoch D overpowered G (runs/failures.py)
        if state is None and self.data is not None:  # weight norm's data-dependent init (no such layers streamed)
            initialise_models(self.generator, self.discriminator, self.data.x_unlabeled, config)
        for model in (self.generator, self.discriminator):  # rank 0's values, VBN's reference latents included
            self.dist.broadcast_module(model)
        self.step = step_factory(
            config, self.generator, self.discriminator, device=self.device, dtype=compute_dtype(self.precision),
            **({"context": self.dist} if self.dist.enabled else {}),
        )
        if state is not None:
            self._check_same_step(state, allow_step_change)
            self._restore(state)

    def _build_networks(self, channels_last: bool) -> None:
        """G and D from the run's seed, and a copy of D that the EMA weights are evaluated in (its values are
        replaced at each evaluation; copying it draws no random numbers)."""
        config, shape, classes = self.config, self.source.image_shape, self.source.num_classes
        torch.manual_seed(config.seed)
        self.generator, self.discriminator = build_models(
            config, image_shape=shape, num_classes=classes, device=self.device
        )
        self.eval_discriminator = copy.deepcopy(self.discriminator).eval()
        if channels_last:
            for model in (self.generator, self.discriminator, self.eval_discriminator):
                model.to(memory_format=torch.channels_last)

    def _say(self, message: str) -> None:
        """A line on the terminal before training starts (rank 0)."""
        if self.dist.is_main:
            print(message, flush=True)

    def _describe_data(self) -> str:
        """``4,000 training images, 100 labeled, 1,000 test images`` (or the streamed folder's count)."""
        if self.data is None:
            return f"{len(self.source.dataset):,} training images (streamed)"
        labels = f", {len(self.data.labeled_indices)} labeled" if self.data.labeled_indices is not None else ""
        return (f"{len(self.data.x_unlabeled):,} training images{labels}, {len(self.data.x_test):,} "
                f"{self.config.eval_split} images")

    def _check_same_step(self, state: dict[str, Any], allow_change: bool) -> None:
        """Refuse to resume with another step kind or precision than the checkpoint's, unless allowed."""
        before, now = state.get("step_info"), self.step.info.record()
        if before is None or before == now or allow_change:
            return
        raise UserError(
            f"{self.run_dir} was trained with the {before['step']} step in {before['precision']}; here it would "
            f"continue with the {now['step']} step in {now['precision']} (a different trajectory). Resume where "
            "it ran, set precision / fast_step in its config.json to match, or pass --allow-step-change"
        )

    # -- checkpoints ---------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "config": self.config.to_dict(),
            "image_shape": self.source.image_shape,
            "num_classes": self.source.num_classes,
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "step": self.step.state_dict(),
            "step_info": self.step.info.record(),
            "rng": ckpt.rng_state(self.numpy_rng, self.device),
            "history": self.history,
        }

    def _restore(self, state: dict[str, Any]) -> None:
        check_checkpoint_fits(self.run_dir, self.config, state, models=(self.generator, self.discriminator))
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        self.step.load_state_dict(_on_device(state["step"], self.device))
        ckpt.restore_rng_state(state["rng"], self.numpy_rng, self.device)
        self.epoch = int(state["epoch"])
        self.history = list(state["history"])
        self.failure = run_failure(self.config, self.history)  # a run that failed before the resume stays failed

    # -- one epoch -----------------------------------------------------------------------------
    def _run_epoch(self) -> dict[str, Any]:
        config = self.config
        lr = learning_rate(config, self.epoch)
        self.step.set_lr(lr)
        iterations = self.source.iterations()
        if self.dist.enabled:  # each rank's own z and noise, a function of (seed, epoch, rank) only
            torch.manual_seed(rank_seed(config.seed, self.epoch, self.dist.rank))
        self.generator.train()
        self.discriminator.train()
        totals: dict[str, torch.Tensor] = {}
        self.iteration_losses = []  # (global iteration, losses) every LOSS_EVERY iterations, for TensorBoard
        started = time.perf_counter()
        bar = tqdm(
            range(iterations),
            desc=f"epoch {self.epoch + 1}/{config.epochs}",
            leave=False,
            disable=not self.progress,
            dynamic_ncols=True,
        )
        for i, batch in zip(bar, self.source.batches(self.epoch)):
            stats = self.step.discriminator_step(batch.x_unl, batch.x_lab, batch.y_lab)
            stats.update(self.step.generator_step(batch.x_real))
            for key, value in stats.items():
                totals[key] = totals.get(key, 0) + value.float()
            if i % LOSS_EVERY == 0 and self.dist.is_main:  # one read of the device every LOSS_EVERY iterations
                losses = {key: float(value) for key, value in stats.items() if key.startswith("loss")}
                self.iteration_losses.append((self.epoch * iterations + i, losses))
            if self.progress and (i % 25 == 0 or i == iterations - 1):
                bar.set_postfix({k: f"{float(v) / (i + 1):.3f}" for k, v in totals.items() if k.startswith("loss")})
        bar.close()
        if self.dist.enabled:  # the mean over the ranks' shards; errors are counted over the global batch
            keys = sorted(totals)
            means = self.dist.mean(torch.stack([totals[k].float() for k in keys]))
            totals = {k: v * (self.dist.world_size if k == "train_errors" else 1) for k, v in zip(keys, means)}
        seconds = time.perf_counter() - started
        row: dict[str, Any] = {"epoch": self.epoch + 1, "iterations": iterations, "lr": lr, **self.step.info.record()}
        for key, value in totals.items():
            row[key] = float(value) / iterations
        if "train_errors" in row:
            row["train_error_rate"] = row.pop("train_errors") / config.batch_size
        row.update(self._evaluate())
        row["seconds"] = round(seconds, 3)
        return row

    def _evaluate(self) -> dict[str, Any]:
        """Test errors of the EMA discriminator (semi-supervised runs, rank 0)."""
        if self.config.mode != "semi-supervised" or not self.dist.is_main:
            return {}
        self.step.average_discriminator_into(self.eval_discriminator)
        errors = count_errors(
            self.eval_discriminator, self.data.x_test, self.data.y_test, batch_size=self.config.eval_batch_size
        )
        raw = count_errors(
            self.discriminator, self.data.x_test, self.data.y_test, batch_size=self.config.eval_batch_size
        )
        n = len(self.data.y_test)
        return {"test_errors": errors, "test_examples": n, "test_error_rate": errors / n, "test_errors_raw": raw}

    def _scores_due(self) -> bool:
        """Sample scores after every ``epoch_score_every``-th epoch and after the last one."""
        every = self.config.epoch_score_every
        return bool(every) and (self.epoch % every == 0 or self.epoch == self.config.epochs)

    @torch.no_grad()
    def sample_grid(self) -> np.ndarray:
        """This epoch's samples of the fixed grid z, written as ``samples/epoch-NNNN.png``; returns the
        grid as uint8 ``[H, W, C]``."""
        return write_sample_grid(self.run_dir, self.epoch, self.generator_samples(self.grid_z), self.config.pixel_scale)

    @torch.no_grad()
    def generator_samples(self, z: torch.Tensor) -> torch.Tensor:
        with eval_mode(self.generator):
            return self.generator(z).float()

    # -- the loop -------------------------------------------------------------------------------
    def train(self) -> TrainResult:
        config = self.config
        if not self.dist.is_main:
            return self._train_without_writing()
        log = open_log(self.run_dir)
        record = EpochWriter(self.run_dir, config, log)
        writer = _LazyWriter(self.run_dir / TENSORBOARD, purge_step=self.epoch + 1)  # made at its first event
        write_metrics(self.run_dir, self.history)

        def announce(message: str) -> None:  # to the log and the terminal
            log.info(message)
            tqdm.write(message)

        self._say_start(log, announce)

        scorer = SampleScorer(config, self.device, log_message=announce)
        try:
            scorer.prepare()  # the scoring network now, or one line saying the run goes on without scores
            epochs = tqdm(
                range(self.epoch, config.epochs),
                desc=config.preset,
                initial=self.epoch,
                total=config.epochs,
                disable=not self.progress,
                dynamic_ncols=True,
            )
            for _ in epochs:
                row = self._run_epoch()
                self.epoch += 1
                grid = self.sample_grid()
                if self._scores_due():
                    row.update(scorer.epoch_scores(self.generator))
                self.history.append(row)
                newly_failed = self._watch_for_failure(row)
                message = describe_epoch(row)
                record.record(self.epoch, self.history, self._state, message)  # checkpoint, metrics, log
                self._to_tensorboard(writer.get(), row, grid, newly_failed)
                if self.progress:
                    epochs.set_postfix_str(message.split(": ", 1)[1], refresh=False)
                tqdm.write(message)  # per-epoch lines on the terminal, with or without progress bars
                if newly_failed:
                    announce(f"FAILED: {self.failure.describe()}. {FAILURE_ADVICE}")
            epochs.close()
            scorer.final_scores(self.generator, self.run_dir)
            if self.history:
                _write_hparams(writer.get(), config, self.history[-1])
        finally:
            writer.close()
            close_log(log)
        report = write_report(self.run_dir)
        return TrainResult(self.run_dir, self.epoch, self.history[-1] if self.history else {}, report)

    def _to_tensorboard(self, writer, row: dict[str, Any], grid: np.ndarray, newly_failed: bool) -> None:
        """The epoch's numbers, its iterations' losses, its sample grid (and the failure, at its epoch)."""
        for key, value in row.items():
            if key != "epoch" and isinstance(value, (int, float)):
                writer.add_scalar(key, value, self.epoch)
        for iteration, losses in self.iteration_losses:
            for key, value in losses.items():
                writer.add_scalar(f"iteration/{key}", value, iteration)
        writer.add_image("samples", grid, self.epoch, dataformats="HWC")
        if newly_failed:
            writer.add_text("failure", f"{self.failure.describe()}; {FAILURE_ADVICE}", self.epoch)
        writer.flush()

    def _say_start(self, log, announce: Callable[[str], None]) -> None:
        """The start (or resume) of a session, in the log; on the terminal too what the user must know."""
        config = self.config
        if self.dist.enabled:
            log.info(f"data parallel: {self.dist.world_size} processes ({self.dist.backend}), "
                     f"{config.batch_size // self.dist.world_size} examples per process and step")
        if self.epoch == 0:
            log.info(f"start {config.preset} on {config.dataset} ({self.device}, "
                     f"{describe_precision(config.precision, self.precision, config.bf16_players)})")
        else:
            log.info(f"resume at epoch {self.epoch} of {config.epochs}")
        (announce if config.fast_step else log.info)(f"training step: {self.step.info.describe()}")
        if self.precision == "bf16" and self.epoch < config.epochs and plays_the_game(config):
            announce(bf16_warning(config.bf16_players))
        if self.failure is not None and self.epoch < config.epochs:
            announce(f"this run has FAILED already ({self.failure.describe()}); it trains on, but its "
                     "classifier will not gain from the generator")

    def _watch_for_failure(self, row: dict[str, Any]) -> bool:
        """Mark ``row`` (the epoch just appended to the history) as failed or not, by the one definition
        (:mod:`~improved_gan.runs.failures`); True when this epoch is the one the run failed at."""
        if not plays_the_game(self.config):
            return False
        newly = self.failure is None and (failure := run_failure(self.config, self.history)) is not None
        if newly:
            self.failure = failure
        row["failed"] = self.failure is not None
        return newly

    def _train_without_writing(self) -> TrainResult:
        """A rank other than 0: the same epochs (and collectives), nothing written, nothing shown."""
        for _ in range(self.epoch, self.config.epochs):
            self._run_epoch()
            self.epoch += 1
        return TrainResult(self.run_dir, self.epoch, {}, None)


class _LazyWriter:
    """TensorBoard's SummaryWriter, made at its first use: after the epoch's checkpoint, metrics and log were
    written. Its thread writes the events file's first record at once, so a writer made before them, on a full
    disk, printed that thread's traceback beside the one-line error of the checkpoint write (and left a 0-byte
    events file); a disk that takes the checkpoint takes that record."""

    def __init__(self, folder: Path, *, purge_step: int) -> None:
        self.folder, self.purge_step, self.writer = folder, purge_step, None

    def get(self):
        if self.writer is None:
            from torch.utils.tensorboard import SummaryWriter  # heavy: only a run that writes loads TensorBoard

            self.writer = SummaryWriter(str(self.folder), purge_step=self.purge_step)
        return self.writer

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _on_device(value: Any, device: torch.device) -> Any:
    """``value`` (tensors in dicts, lists, tuples) on ``device``: a checkpoint read onto the CPU, restored."""
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, dict):
        return {key: _on_device(item, device) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_on_device(item, device) for item in value)
    return value


def _write_hparams(writer, config: TrainConfig, last: dict[str, Any]) -> None:
    """The run's scalar settings and its final numbers in TensorBoard's HParams view."""
    hparams = {k: v for k, v in config.to_dict().items() if isinstance(v, (bool, int, float, str))}
    metrics = {f"final/{k}": last[k] for k in ("test_errors", "test_errors_raw", "loss_d", "loss_g") if k in last}
    if metrics:
        writer.add_hparams(hparams, metrics, run_name=".")


def describe_epoch(row: dict[str, Any], *, of: int | None = None) -> str:
    """One metrics row as the terminal line of its epoch (``epoch 3/20: test errors ..., 4.2s``)."""
    parts = [f"epoch {row['epoch']}" + (f"/{of}" if of is not None else "")]
    summary = []
    if "test_errors" in row:
        summary.append(f"test errors {row['test_errors']}/{row['test_examples']}")
    for key in ("loss_d", "loss_g"):
        if key in row:
            summary.append(f"{key} {row[key]:.4f}")
    if "mnist_score_mean" in row:
        summary.append(f"MNIST score {row['mnist_score_mean']:.2f}, FD {row['mnist_fd']:.2f}")
    if "inception_score_mean" in row:
        summary.append(f"Inception score {row['inception_score_mean']:.2f}")
    summary.append(f"{row['seconds']:.1f}s")
    if row.get("failed"):
        summary.append("FAILED (D overpowered G; docs/stability.md)")
    return parts[0] + ": " + ", ".join(summary)


def train(config: TrainConfig, run_dir: str | Path, *, overwrite: bool = False, progress: bool = True) -> TrainResult:
    """Start a new run of ``config`` in ``run_dir`` and train it to the end.

    Build, then write: the run's objects (device, data, networks, step) are constructed first, and that is the
    check of the config against this machine and the data; only then is the folder checked, once, and written
    (or, with ``overwrite``, removed first: :func:`prepare_run_dir`).
    """
    run_dir = Path(run_dir)
    trainer = Trainer(run_dir, config=config.validate(), progress=progress)
    prepare_run_dir(trainer.config, run_dir, overwrite=overwrite)
    with RunningMark(run_dir):
        return trainer.train()


def resume(
    run_dir: str | Path,
    *,
    epochs: int | None = None,
    progress: bool = True,
    allow_step_change: bool = False,
    allow_lr_change: bool = False,
    device: str | None = None,
) -> TrainResult:
    """Continue the run in ``run_dir`` from its last checkpoint (optionally to more epochs, or on
    another ``device``: where a run trains does not change what it computes).

    ``config.json`` is compared with the config the checkpoint was trained with:
    a change the checkpoint cannot honour (dataset, labels, seeds, models,
    objective; the learning rate unless ``allow_lr_change``) is refused, and so
    is ``epochs`` below the epochs already trained. ``config.json`` is rewritten
    (for ``epochs`` or ``device``) only after every check has passed.
    """
    run_dir = Path(run_dir)
    config = stored = check_resumable(run_dir)  # the folder's own checks (runs/guard.py), then its checkpoint
    state = ckpt.load_checkpoint(run_dir)
    check_matches_checkpoint(run_dir, config, state, allow=LR_FIELDS if allow_lr_change else frozenset())
    done = int(state["epoch"])
    if epochs is not None and epochs < done:
        raise UserError(
            f"{run_dir} has trained {done} epochs already; --epochs {epochs} cannot undo them. "
            f"Give --epochs {done} or more (nothing was changed)"
        )
    if epochs is None and config.epochs < done:  # an edited config.json: "has trained all 2 epochs" of 3
        raise UserError(
            f"{run_dir / CONFIG} says epochs {config.epochs}, but {run_dir} has trained {done} epochs already; set "
            f"epochs to {done} or more there, or give --epochs N (nothing was changed)"
        )
    config = resumed_config(stored, epochs=epochs, device=device)
    trainer = Trainer(run_dir, config=config, state=state, progress=progress, allow_step_change=allow_step_change)
    if config != stored:
        save_config(config, run_dir / CONFIG)
    if done >= config.epochs:
        print(f"{run_dir} has trained all {config.epochs} epochs; give --epochs N to train more", flush=True)
    with RunningMark(run_dir):
        return trainer.train()


def resumed_config(config: TrainConfig, *, epochs: int | None = None, device: str | None = None) -> TrainConfig:
    """A run's config as a resume continues it: with ``epochs`` and ``device`` when given."""
    changes = {name: value for name, value in (("epochs", epochs), ("device", device)) if value is not None}
    return dataclasses.replace(config, **changes).validate()


def config_conflict(run_dir: str | Path, config: TrainConfig) -> str | None:
    """None when ``run_dir`` holds no run or a run of ``config`` (fields that say where and how it
    runs aside: ``config.WHERE_NOT_WHAT``); else one line naming the fields that differ."""
    path = Path(run_dir) / CONFIG
    if not path.is_file():
        return None
    differ = config_differences(load_config(path), config)
    if not differ:
        return None
    return f"{run_dir} holds a run of another configuration: {', '.join(differ)}; choose another folder"


def ensure_trained(config: TrainConfig, run_dir: str | Path, *, progress: bool = True) -> TrainResult:
    """Bring the run of ``config`` in ``run_dir`` to ``config.epochs`` epochs: start it, continue it,
    or (when it is already there) return its last epoch. The one way experiments (Table 1,
    Table 3, the stability study) train their runs, so a stopped experiment resumes where it was.

    A folder holding a run of another configuration is refused, naming the fields that differ.
    """
    run_dir = Path(run_dir)
    config = config.validate()
    if ckpt.latest_checkpoint(run_dir) is None:
        return train(config, run_dir, overwrite=False, progress=progress)
    conflict = config_conflict(run_dir, config)
    if conflict:
        raise UserError(conflict)
    history = read_metrics(run_dir)
    done = history[-1]["epoch"] if history else 0
    if done < config.epochs:
        return resume(run_dir, epochs=config.epochs, progress=progress)
    return TrainResult(run_dir, done, history[-1] if history else {}, None)
