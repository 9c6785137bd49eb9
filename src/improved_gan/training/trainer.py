"""The training loop: labelled stages, one tick per epoch.

Stages: open the run folder (config first), load data, build and initialise the
networks, restore a checkpoint when resuming, then loop over epochs. At the
end of every epoch the loop evaluates the EMA discriminator on the test set,
draws a sample grid from a fixed z, appends a metrics row (JSON lines and
TensorBoard) and writes a checkpoint atomically; at the end it writes the report.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from improved_gan.config import TrainConfig, load_config, save_config
from improved_gan.errors import UserError
from improved_gan.training import checkpoint as ckpt
from improved_gan.training.batches import epoch_plan, iterations_per_epoch
from improved_gan.training.build import build_models, initialise_models
from improved_gan.training.device import autocast_factory, resolve_device, resolve_precision
from improved_gan.training.evaluate import count_errors
from improved_gan.training.fast import FastTrainStep, build_step
from improved_gan.training.experiment_data import ExperimentData, load_experiment_data
from improved_gan.training.pixels import to_uint8
from improved_gan.training.run_dir import CONFIG, close_log, open_log, sample_grid_path, write_metrics
from improved_gan.training.sample_scores import SampleScorer
from improved_gan.training.step import TrainStep
from improved_gan.utils.image_grid import save_grid

GRID_SEED_OFFSET = 7919  # the sample grid's fixed z comes from its own generator


@dataclass
class TrainResult:
    run_dir: Path
    epoch: int
    metrics: dict[str, Any]
    report: Path | None


def configure_accelerator(device: torch.device, config: TrainConfig) -> bool:
    """On CUDA: cuDNN autotuning, TF32 for float32 matmuls and convolutions, and
    channels-last memory for the conv nets (returned). Process-wide switches,
    set once by the trainer, which owns the process."""
    if device.type != "cuda":
        return False
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    return config.architecture == "cifar-conv"


def learning_rate(config: TrainConfig, epoch: int) -> float:
    """The authors' schedule: constant, then linear decay to 0 over [start, end) (0-based epochs)."""
    if config.lr_decay_start is None:
        return config.lr
    span = config.lr_decay_end - config.lr_decay_start
    return config.lr * float(np.clip((config.lr_decay_end - epoch) / span, 0.0, 1.0))


def prepare_run_dir(config: TrainConfig, run_dir: Path, *, overwrite: bool = False) -> None:
    """Create a new run folder and write its config first; refuse to clobber a run."""
    if ckpt.latest_checkpoint(run_dir) is not None and not overwrite:
        raise UserError(
            f"{run_dir} already holds a run; continue it with `improved-gan train --resume {run_dir}` "
            "or choose another --out"
        )
    if overwrite and run_dir.exists():
        import shutil

        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    save_config(config, run_dir / CONFIG)


class Trainer:
    """Runs (or resumes) the experiment described by a run folder's config."""

    def __init__(self, run_dir: str | Path, *, progress: bool = True) -> None:
        self.run_dir = Path(run_dir)
        self.config = load_config(self.run_dir / CONFIG)
        self.progress = progress
        config = self.config

        # -- device and precision ----------------------------------------------------------
        self.device = resolve_device(config.device)
        self.precision = resolve_precision(config.precision, self.device)
        autocast = autocast_factory(self.precision, self.device)
        channels_last = configure_accelerator(self.device, config)

        # -- data --------------------------------------------------------------------------
        self.data: ExperimentData = load_experiment_data(config, device=self.device)
        if channels_last:
            self.data.to_channels_last()

        # -- networks, optimisers, averages ------------------------------------------------
        torch.manual_seed(config.seed)
        self.numpy_rng = np.random.default_rng(config.seed)
        self.generator, self.discriminator = build_models(
            config, image_shape=self.data.image_shape, num_classes=self.data.num_classes, device=self.device
        )
        self.eval_discriminator = build_models(
            config, image_shape=self.data.image_shape, num_classes=self.data.num_classes, device=self.device
        )[1].eval()
        if channels_last:
            for model in (self.generator, self.discriminator, self.eval_discriminator):
                model.to(memory_format=torch.channels_last)
        grid_gen = torch.Generator().manual_seed(config.seed + GRID_SEED_OFFSET)
        self.grid_z = torch.rand(config.sample_grid, config.latent_dim, generator=grid_gen).to(self.device)
        self.epoch = 0
        self.history: list[dict[str, Any]] = []
        state = ckpt.load_checkpoint(self.run_dir, map_location=self.device) if ckpt.latest_checkpoint(self.run_dir) else None
        if state is None:
            initialise_models(self.generator, self.discriminator, self.data.x_unlabeled, config)
        fast = build_step(config, self.generator, self.discriminator, autocast=autocast) if config.fast_step else None
        self.step = fast or TrainStep(config, self.generator, self.discriminator, autocast=autocast)
        if state is not None:
            self._restore(state)

    def step_description(self) -> str:
        """Which training step runs, and why (``fast_step`` asks for a step that may not apply)."""
        if isinstance(self.step, FastTrainStep):
            return f"fast (training/fast, {'native kernels' if self.step.ops.kernels else 'PyTorch operations'})"
        if self.config.fast_step:
            return "reference (fast_step=true, but the fast step does not implement this configuration)"
        return "reference"

    # -- checkpoints ---------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "config": self.config.to_dict(),
            "image_shape": self.data.image_shape,
            "num_classes": self.data.num_classes,
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "step": self.step.state_dict(),
            "rng": ckpt.rng_state(self.numpy_rng, self.device),
            "history": self.history,
        }

    def _restore(self, state: dict[str, Any]) -> None:
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        self.step.load_state_dict(state["step"])
        ckpt.restore_rng_state(state["rng"], self.numpy_rng, self.device)
        self.epoch = int(state["epoch"])
        self.history = list(state["history"])

    # -- one epoch -----------------------------------------------------------------------------
    def _run_epoch(self) -> dict[str, Any]:
        config, data = self.config, self.data
        lr = learning_rate(config, self.epoch)
        self.step.set_lr(lr)
        iterations = iterations_per_epoch(len(data.x_unlabeled), config.batch_size, config.iters_per_epoch)
        plan = epoch_plan(
            self.numpy_rng,
            num_unlabeled=len(data.x_unlabeled),
            labeled_indices=data.labeled_indices,
            batch_size=config.batch_size,
            iterations=iterations,
        )
        self.generator.train()
        self.discriminator.train()
        totals: dict[str, torch.Tensor] = {}
        started = time.perf_counter()
        bar = tqdm(
            range(iterations),
            desc=f"epoch {self.epoch + 1}/{config.epochs}",
            leave=False,
            disable=not self.progress,
            dynamic_ncols=True,
        )
        for i in bar:
            x_unl = data.x_unlabeled[plan.unlabeled[i]]
            x_lab = y_lab = None
            if plan.labeled is not None:
                x_lab, y_lab = data.x_unlabeled[plan.labeled[i]], data.y_unlabeled[plan.labeled[i]]
            stats = self.step.discriminator_step(x_unl, x_lab, y_lab)
            stats.update(self.step.generator_step(data.x_unlabeled[plan.unlabeled_fm[i]]))
            for key, value in stats.items():
                totals[key] = totals.get(key, 0) + value.float()
            if self.progress and (i % 25 == 0 or i == iterations - 1):
                bar.set_postfix({k: f"{float(v) / (i + 1):.3f}" for k, v in totals.items() if k.startswith("loss")})
        bar.close()
        seconds = time.perf_counter() - started
        row: dict[str, Any] = {"epoch": self.epoch + 1, "iterations": iterations, "lr": lr}
        for key, value in totals.items():
            row[key] = float(value) / iterations
        if "train_errors" in row:
            row["train_error_rate"] = row.pop("train_errors") / config.batch_size
        row.update(self._evaluate())
        row["seconds"] = round(seconds, 3)
        return row

    def _evaluate(self) -> dict[str, Any]:
        """Test errors of the EMA discriminator (semi-supervised runs)."""
        if self.config.mode != "semi-supervised":
            return {}
        self.step.ema.copy_to(self.eval_discriminator, source=self.discriminator)
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
    def sample_grid(self) -> Path:
        images = to_uint8(self.generator_samples(self.grid_z), self.config.pixel_scale)
        return save_grid(images, sample_grid_path(self.run_dir, self.epoch))

    @torch.no_grad()
    def generator_samples(self, z: torch.Tensor) -> torch.Tensor:
        was_training = self.generator.training
        self.generator.eval()
        try:
            return self.generator(z).float()
        finally:
            self.generator.train(was_training)

    # -- the loop -------------------------------------------------------------------------------
    def train(self) -> TrainResult:
        from torch.utils.tensorboard import SummaryWriter

        from improved_gan.training.report import write_report

        config = self.config
        log = open_log(self.run_dir)
        writer = SummaryWriter(str(self.run_dir / "tensorboard"), purge_step=self.epoch + 1)
        if self.epoch == 0:
            log.info(f"start {config.preset} on {config.dataset} ({self.device}, {self.precision})")
        else:
            log.info(f"resume at epoch {self.epoch} of {config.epochs}")
        write_metrics(self.run_dir, self.history)

        def announce(message: str) -> None:  # to the log and the terminal
            log.info(message)
            tqdm.write(message)

        (announce if config.fast_step else log.info)(f"training step: {self.step_description()}")

        scorer = SampleScorer(config, self.device, log_message=announce)
        try:
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
                self.sample_grid()
                if self._scores_due():
                    row.update(scorer.epoch_scores(self.generator))
                self.history.append(row)
                write_metrics(self.run_dir, self.history)
                for key, value in row.items():
                    if key != "epoch" and isinstance(value, (int, float)):
                        writer.add_scalar(key, value, self.epoch)
                writer.flush()
                if self.epoch % config.checkpoint_every == 0 or self.epoch == config.epochs:
                    ckpt.save_checkpoint(self.run_dir, self._state())
                message = _describe(row)
                log.info(message)
                if self.progress:
                    epochs.set_postfix_str(message.split(": ", 1)[1], refresh=False)
                    tqdm.write(message)
            epochs.close()
            scorer.final_scores(self.generator, self.run_dir)
        finally:
            writer.close()
            close_log(log)
        report = write_report(self.run_dir)
        return TrainResult(self.run_dir, self.epoch, self.history[-1] if self.history else {}, report)


def _describe(row: dict[str, Any]) -> str:
    parts = [f"epoch {row['epoch']}"]
    summary = []
    if "test_errors" in row:
        summary.append(f"test errors {row['test_errors']}/{row['test_examples']}")
    for key in ("loss_d", "loss_g"):
        if key in row:
            summary.append(f"{key} {row[key]:.4f}")
    if "mnist_score_mean" in row:
        summary.append(f"MNIST score {row['mnist_score_mean']:.2f}, FD {row['mnist_fd']:.2f}")
    summary.append(f"{row['seconds']:.1f}s")
    return parts[0] + ": " + ", ".join(summary)


def train(config: TrainConfig, run_dir: str | Path, *, overwrite: bool = False, progress: bool = True) -> TrainResult:
    """Start a new run of ``config`` in ``run_dir`` and train it to the end."""
    config = config.validate()
    prepare_run_dir(config, Path(run_dir), overwrite=overwrite)
    return Trainer(run_dir, progress=progress).train()


def resume(run_dir: str | Path, *, epochs: int | None = None, progress: bool = True) -> TrainResult:
    """Continue the run in ``run_dir`` from its last checkpoint (optionally to more epochs)."""
    run_dir = Path(run_dir)
    config = load_config(run_dir / CONFIG)
    if epochs is not None and epochs != config.epochs:
        save_config(dataclasses.replace(config, epochs=epochs).validate(), run_dir / CONFIG)
    return Trainer(run_dir, progress=progress).train()
