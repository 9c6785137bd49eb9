"""Test error of a discriminator used as a K-class classifier (Section 5), live or from a run folder."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from improved_gan.config import load_config
from improved_gan.errors import UserError
from improved_gan.semi_supervised import classification_errors
from improved_gan.training.build import build_models
from improved_gan.training.checkpoint import load_checkpoint
from improved_gan.training.device import resolve_device
from improved_gan.training.ema import ExponentialMovingAverage
from improved_gan.training.experiment_data import load_experiment_data
from improved_gan.training.run_dir import CONFIG
from improved_gan.utils.eval_mode import eval_mode


@torch.no_grad()
def count_errors(classifier: nn.Module, images: Tensor, labels: Tensor, *, batch_size: int = 1000) -> int:
    """Misclassified examples among ``images [N, C, H, W]`` with ``labels [N]``.

    The classifier runs in eval mode (no noise, no dropout); its mode is restored.
    Batches of ``batch_size``: a discriminator with minibatch features predicts
    from its batch, so the authors' test batch size is part of the protocol.
    """
    errors = torch.zeros((), dtype=torch.long, device=images.device)
    with eval_mode(classifier):
        for start in range(0, len(images), batch_size):
            stop = start + batch_size
            errors += classification_errors(classifier(images[start:stop]).logits, labels[start:stop])
    return int(errors)


def evaluate_run(run_dir: str | Path, *, device: str = "auto", data_dir: str | None = None) -> dict[str, Any]:
    """``{"test_errors", "test_examples", "test_error_rate", "epoch", ...}`` of the EMA discriminator
    of the run's last checkpoint, on the run's evaluation split."""
    run_dir = Path(run_dir)
    config = load_config(run_dir / CONFIG)
    if config.mode != "semi-supervised":
        raise UserError(f"{run_dir} is a {config.mode} run: it has no classifier to evaluate; try `improved-gan score`")
    if data_dir is not None:
        config = dataclasses.replace(config, data_dir=data_dir)
    torch_device = resolve_device(device)
    state = load_checkpoint(run_dir, map_location=torch_device)
    data = load_experiment_data(config, device=torch_device)
    _, discriminator = build_models(config, image_shape=data.image_shape, num_classes=data.num_classes, device=torch_device)
    discriminator.load_state_dict(state["discriminator"])
    raw_errors = count_errors(discriminator, data.x_test, data.y_test, batch_size=config.eval_batch_size)
    ema = ExponentialMovingAverage(discriminator, rate=config.ema_rate).to(torch_device)
    ema.load_state_dict(state["step"]["ema"])
    ema.copy_to(discriminator)
    errors = count_errors(discriminator, data.x_test, data.y_test, batch_size=config.eval_batch_size)
    n = len(data.y_test)
    return {
        "run": str(run_dir),
        "epoch": int(state["epoch"]),
        "test_errors": errors,
        "test_examples": n,
        "test_error_rate": errors / n,
        "test_errors_raw": raw_errors,
        "dataset": config.dataset,
        "labels": config.labels,
        "seed": config.seed,
    }
