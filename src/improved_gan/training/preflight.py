"""Checks made before a run folder is touched: the device exists, the data loads and fits the config.

:func:`check_device` turns a device name into a usable ``torch.device`` or one
:class:`~improved_gan.errors.ConfigError` (``banana``, a CUDA index this machine
lacks); :func:`check_data` reads the dataset's splits once, as the trainer will,
and refuses what only the data can show (a batch, or weight norm's init batch, larger than the training set);
:func:`announce_start` puts what is about to happen on the terminal.
"""

from __future__ import annotations

import torch

from improved_gan.config import TrainConfig
from improved_gan.errors import ConfigError


def check_device(name: str | None) -> torch.device:
    """``name`` (None: auto) as a device this machine has, or ConfigError saying which ones it has."""
    from improved_gan.training.device import resolve_device

    device = resolve_device("auto" if name is None else str(name))
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        count = torch.cuda.device_count()
        raise ConfigError(
            f"device {name!r}: this machine has {count} CUDA device{'s' * (count != 1)} "
            f"(cuda:0{f' to cuda:{count - 1}' if count > 1 else ''}); choose one of them, or cpu"
        )
    return device


def check_data(config: TrainConfig) -> dict[str, int]:
    """Load the config's splits and labeled subset (raising the loader's DataError when they are wrong)
    and check the sizes against the config; returns ``{"train": N, "test": M}``."""
    from improved_gan.config import IMAGE_FOLDER
    from improved_gan.data import labeled_subset, load_dataset

    if config.dataset == IMAGE_FOLDER:  # streamed from disk: scan the folder, decode nothing
        from improved_gan.training.data_source import check_image_folder

        return check_image_folder(config)
    train = load_dataset(config.dataset, root=config.data_dir, split=config.train_split)
    test = load_dataset(config.dataset, root=config.data_dir, split=config.eval_split)
    if config.mode == "semi-supervised":
        labeled_subset(train.labels, config.labels, seed=config.resolved_data_seed, num_classes=train.num_classes)
    problems = [
        f"{name} {value} is larger than the {len(train.labels):,} training images of {config.dataset}:"
        f"{config.train_split}" + (" (the examples of weight norm's data-dependent init)" if name == "init_batch_size"
                                   else "")
        for name, value in (("batch_size", config.batch_size), ("init_batch_size", config.init_batch_size))
        if value > len(train.labels)
    ]
    if problems:
        raise ConfigError("invalid configuration for this data: " + "; ".join(problems))
    return {"train": len(train.labels), "test": len(test.labels)}


def announce_start(config: TrainConfig) -> torch.device:
    """Check device and data, saying on the terminal what is loaded and where it will run."""
    from improved_gan.training.device import describe_precision, resolve_precision

    device = check_device(config.device)
    precision = resolve_precision(config.precision, device)
    where = f" from {config.data_dir}" if config.data_dir else ""
    print(f"loading data: {config.dataset}{where} ...", flush=True)
    sizes = check_data(config)
    labels = f", {config.labels} labeled" if config.mode == "semi-supervised" else ""
    print(
        f"data: {sizes['train']:,} training images{labels}, {sizes['test']:,} {config.eval_split} images; "
        f"device {device}, precision {describe_precision(config.precision, precision)}",
        flush=True,
    )
    return device
