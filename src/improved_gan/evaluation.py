"""Evaluate a run folder: test error of its latest checkpoint's EMA discriminator."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from improved_gan.config import load_config
from improved_gan.errors import UserError
from improved_gan.training.build import build_models
from improved_gan.training.checkpoint import load_checkpoint
from improved_gan.training.device import resolve_device
from improved_gan.training.ema import ExponentialMovingAverage
from improved_gan.training.evaluate import count_errors
from improved_gan.training.experiment_data import load_experiment_data
from improved_gan.training.run_dir import CONFIG


def evaluate_run(run_dir: str | Path, *, device: str = "auto", data_dir: str | None = None) -> dict[str, Any]:
    """``{"test_errors", "test_examples", "test_error_rate", "epoch", ...}`` for the run's last checkpoint."""
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
        "dataset": config.dataset,
        "labels": config.labels,
        "seed": config.seed,
    }
