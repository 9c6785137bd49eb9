"""Can this checkpoint continue a run of this config? Checked before any of its tensors is loaded.

A checkpoint holds the config it was trained with and the networks' tensors. :func:`check_matches_checkpoint`
compares the run's ``config.json`` with the first (``resume``, ``sample`` and ``eval`` ask it, before any network
is built or data loaded), and :func:`check_checkpoint_fits` the second with the networks that will load them: a
checkpoint copied in from another model is one line, not a ``load_state_dict`` traceback. The networks checked
are the ones used: the trainer's own, or those :func:`load_checkpoint_networks` builds and returns; none is built
only to be checked. Training's concern, not the run folder's: it needs the networks.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from improved_gan.config import LR_FIELDS, WHERE_NOT_WHAT, TrainConfig
from improved_gan.errors import ConfigError, UserError
from improved_gan.runs.guard import config_differences
from improved_gan.runs.layout import CHECKPOINTS, CONFIG
from improved_gan.training.build import build_models


def check_matches_checkpoint(run_dir: Path, config: TrainConfig, state: dict, *, allow=frozenset()) -> None:
    """Raise UserError when ``RUN/config.json`` (``config``) differs from the config the checkpoint
    ``state`` was trained with in anything but :data:`WHERE_NOT_WHAT` and ``allow``. A checkpoint of another
    preset is one line naming both. Whether its tensors fit is :func:`check_checkpoint_fits`'s, once the
    networks are built."""
    try:
        trained = TrainConfig.from_dict(state["config"])
    except (ConfigError, TypeError) as err:
        raise UserError(f"the checkpoint of {run_dir} holds an unreadable config ({err}); it is damaged") from None
    if trained.preset != config.preset:
        raise UserError(
            f"the checkpoint in {run_dir / CHECKPOINTS} was trained by preset {trained.preset}, but "
            f"{run_dir / CONFIG} is a run of preset {config.preset}: the checkpoint belongs to another run. "
            f"Put this run's own checkpoint back, or resume the {trained.preset} run it came from in its own "
            "folder; nothing was changed"
        )
    differ = config_differences(trained, config, ignore=WHERE_NOT_WHAT | allow)
    if not differ:
        return
    lr_only = {d.split("=")[0] for d in differ} <= LR_FIELDS
    hint = " (pass --allow-lr-change to continue with the new learning rate)" if lr_only and not allow else ""
    raise UserError(
        f"{run_dir / CONFIG} differs from the config its checkpoint was trained with: {', '.join(differ)}; "
        f"the checkpoint holds that training, so restore those values{hint}, or start a new run with "
        "`improved-gan train PRESET --set KEY=VALUE --out NEW`"
    )


def state_dict_mismatch(module, state_dict: dict) -> str | None:
    """What keeps ``state_dict`` from loading into ``module`` (missing, unexpected, reshaped tensors), or None."""
    own = module.state_dict()
    missing = [key for key in own if key not in state_dict]
    unexpected = [key for key in state_dict if key not in own]
    reshaped = [f"{key} {list(state_dict[key].shape)} (here {list(own[key].shape)})" for key in own
                if key in state_dict and tuple(getattr(state_dict[key], "shape", ())) != tuple(own[key].shape)]
    parts = [f"{len(names)} {what} ({names[0]}{', ...' if len(names) > 1 else ''})"
             for names, what in ((missing, "missing"), (unexpected, "unexpected"), (reshaped, "of another shape"))
             if names]  # fmt: skip
    return ", ".join(parts) + " tensors" if parts else None


def check_checkpoint_fits(run_dir: Path, config: TrainConfig, state: dict, *, models: tuple[nn.Module, nn.Module]) -> None:
    """Raise UserError when the checkpoint's generator and discriminator do not fit ``models``, the
    ``(generator, discriminator)`` of ``config`` that are about to load them: e.g. a checkpoint file copied
    in from a run of another model."""
    run_dir = Path(run_dir)
    for part, model in zip(("generator", "discriminator"), models):
        problem = state_dict_mismatch(model, state[part])
        if problem is not None:
            raise UserError(
                f"the checkpoint in {run_dir / CHECKPOINTS} holds a {part} that the networks of "
                f"{run_dir / CONFIG} (preset {config.preset}) cannot load: {problem}; it was written by another "
                "model. Put this run's own checkpoint back, or start a new run in another folder; nothing was changed"
            )


def load_checkpoint_networks(run_dir: Path, config: TrainConfig, state: dict, *,
                             device: torch.device) -> tuple[nn.Module, nn.Module]:
    """``config``'s generator and discriminator on ``device``, built for the image shape and classes the
    checkpoint ``state`` records, holding its tensors; a UserError, before any tensor is loaded, when they do
    not fit (:func:`check_checkpoint_fits`). Call :func:`check_matches_checkpoint` first."""
    run_dir = Path(run_dir)
    try:
        models = build_models(config, image_shape=tuple(state["image_shape"]), num_classes=int(state["num_classes"]),
                              device=device)  # fmt: skip
    except UserError as err:
        raise UserError(f"the checkpoint in {run_dir / CHECKPOINTS} does not fit {run_dir / CONFIG}: {err}; "
                        "nothing was changed") from None
    check_checkpoint_fits(run_dir, config, state, models=models)
    for part, model in zip(("generator", "discriminator"), models):
        model.load_state_dict(state[part])
    return models
