"""Checkpoints: a state dict of everything that moves, written atomically.

A checkpoint holds the networks, both optimisers, the EMA, the historical
averages, every random-number generator's state, the epoch reached and the
metrics so far, so that a resumed run continues bit-for-bit (on CPU) where an
uninterrupted one would be. Files are written through a temporary file and
``os.replace``: a crash or ``kill -9`` leaves the previous checkpoint intact.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from improved_gan.errors import UserError
from improved_gan.training.run_dir import CHECKPOINTS, LAST_CHECKPOINT as LAST
from improved_gan.utils.atomic import atomic_torch_save

CHECKPOINT_VERSION = 1


def checkpoint_dir(run_dir: str | Path) -> Path:
    return Path(run_dir) / CHECKPOINTS


def save_checkpoint(run_dir: str | Path, state: dict[str, Any]) -> Path:
    """Write ``state`` (plus a version) as ``checkpoints/last.pt``; returns its path."""
    path = checkpoint_dir(run_dir) / LAST
    atomic_torch_save({"version": CHECKPOINT_VERSION, **state}, path)
    return path


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    path = checkpoint_dir(run_dir) / LAST
    return path if path.is_file() else None


def load_checkpoint(run_dir: str | Path, *, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read the run's last checkpoint, or raise UserError saying what is wrong."""
    path = latest_checkpoint(run_dir)
    if path is None:
        raise UserError(
            f"no checkpoint in {checkpoint_dir(run_dir)}: the run has not finished an epoch yet, "
            "or this is not a run folder made by `improved-gan train`"
        )
    try:
        state = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as err:  # torch raises many types for damaged files
        raise UserError(f"{path} cannot be read ({type(err).__name__}: {err}); it is damaged") from None
    version = state.get("version") if isinstance(state, dict) else None
    if version != CHECKPOINT_VERSION:
        raise UserError(
            f"{path} has checkpoint version {version!r}; this improved-gan reads version {CHECKPOINT_VERSION}"
        )
    return state


def rng_state(numpy_rng, device: torch.device) -> dict[str, Any]:
    """Every generator the loop draws from: torch (CPU, CUDA) and the batch-order NumPy one."""
    state = {"torch": torch.get_rng_state(), "numpy": numpy_rng.bit_generator.state}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def restore_rng_state(state: dict[str, Any], numpy_rng, device: torch.device) -> None:
    torch.set_rng_state(state["torch"])
    numpy_rng.bit_generator.state = state["numpy"]
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)
