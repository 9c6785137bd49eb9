"""Test error of a discriminator used as a K-class classifier (Section 5), live or from a run folder."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from improved_gan.config import LR_FIELDS, TrainConfig, load_config
from improved_gan.errors import UserError
from improved_gan.semi_supervised import classification_errors
from improved_gan.runs.checkpoint import load_checkpoint
from improved_gan.training.checkpoint_fit import check_matches_checkpoint, load_checkpoint_networks
from improved_gan.training.device import resolve_device
from improved_gan.training.ema import ExponentialMovingAverage
from improved_gan.training.experiment_data import load_experiment_data
from improved_gan.runs.layout import CONFIG
from improved_gan.utils.eval_mode import eval_mode


@torch.no_grad()
def count_errors(
    classifier: nn.Module, images: Tensor, labels: Tensor, *, batch_size: int = 1000, progress: str | None = None
) -> int:
    """Misclassified examples among ``images [N, C, H, W]`` with ``labels [N]``.

    The classifier runs in eval mode (no noise, no dropout); its mode is restored.
    Batches of ``batch_size``: a discriminator with minibatch features predicts
    from its batch, so the authors' test batch size is part of the protocol.
    ``progress``: a label for a progress bar over the batches (None: no bar).
    """
    errors = torch.zeros((), dtype=torch.long, device=images.device)
    starts = range(0, len(images), batch_size)
    with eval_mode(classifier):
        for start in tqdm(starts, desc=progress, disable=progress is None, leave=False, unit="batch"):
            stop = start + batch_size
            errors += classification_errors(classifier(images[start:stop]).logits, labels[start:stop])
    return int(errors)


@torch.no_grad()
def class_probabilities(classifier: nn.Module, images: Tensor, *, batch_size: int = 1000) -> Tensor:
    """Softmax over the K real classes, ``[N, K]`` float64, in eval mode (the ensemble's input:
    Table 1's second row averages these over the seeds' models)."""
    chunks = []
    with eval_mode(classifier):
        for start in range(0, len(images), batch_size):
            chunks.append(torch.softmax(classifier(images[start : start + batch_size]).logits.double(), dim=1))
    return torch.cat(chunks)


@dataclasses.dataclass
class RunClassifier:
    """A run's discriminator as a classifier, with the data it is evaluated on."""

    discriminator: nn.Module
    x_test: Tensor
    y_test: Tensor
    epoch: int
    config: TrainConfig
    average: dict[str, Any]  # the checkpoint's EMA state

    def use_average(self) -> None:
        """Replace the discriminator's parameters by their exponential moving average (the EMA D)."""
        ema = ExponentialMovingAverage(self.discriminator, rate=self.config.ema_rate).to(self.x_test.device)
        ema.load_state_dict(self.average)
        ema.copy_to(self.discriminator)


def load_run_classifier(
    run_dir: str | Path, *, which: str = "ema", device: str = "auto", data_dir: str | None = None
) -> RunClassifier:
    """The discriminator of the run's last checkpoint, its EMA (``which="ema"``) or raw parameters
    (``"raw"``), and the run's evaluation split."""
    if which not in ("ema", "raw"):
        raise ValueError(f"expected which='ema' or 'raw' (got {which!r})")
    run_dir = Path(run_dir)
    config = load_config(run_dir / CONFIG)
    if config.mode != "semi-supervised":
        raise UserError(f"{run_dir} is a {config.mode} run: it has no classifier to evaluate; try `improved-gan score`")
    if data_dir is not None:
        config = dataclasses.replace(config, data_dir=data_dir)
    torch_device = resolve_device(device)
    state = load_checkpoint(run_dir, map_location=torch_device)
    check_matches_checkpoint(run_dir, config, state, allow=LR_FIELDS)  # e.g. an edited latent_dim, before the data
    data = load_experiment_data(config, device=torch_device)
    _, discriminator = load_checkpoint_networks(run_dir, config, state, device=torch_device)
    run = RunClassifier(discriminator, data.x_test, data.y_test, int(state["epoch"]), config, state["step"]["ema"])
    if which == "ema":
        run.use_average()
    return run


def evaluate_run(
    run_dir: str | Path, *, device: str = "auto", data_dir: str | None = None, progress: bool = False
) -> dict[str, Any]:
    """``{"test_errors", "test_examples", "test_error_rate", "test_errors_raw", "epoch", ...}`` of the
    run's last checkpoint (EMA and raw discriminator) on the run's evaluation split."""
    run = load_run_classifier(run_dir, which="raw", device=device, data_dir=data_dir)
    size = run.config.eval_batch_size
    errors = {}
    for which in ("raw", "ema"):
        if which == "ema":
            run.use_average()
        label = f"{which} discriminator" if progress else None
        errors[which] = count_errors(run.discriminator, run.x_test, run.y_test, batch_size=size, progress=label)
    n = len(run.y_test)
    return {
        "run": str(run_dir),
        "epoch": run.epoch,
        "test_errors": errors["ema"],
        "test_examples": n,
        "test_error_rate": errors["ema"] / n,
        "test_errors_raw": errors["raw"],
        "dataset": run.config.dataset,
        "labels": run.config.labels,
        "seed": run.config.seed,
    }
