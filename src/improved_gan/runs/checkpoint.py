"""Checkpoints: a state dict of everything that moves, written atomically.

A checkpoint holds the networks, both optimisers, the EMA, the historical
averages, every random-number generator's state, the epoch reached and the
metrics so far, so that a resumed run continues bit-for-bit (on CPU) where an
uninterrupted one would be. Files are written through a temporary file and
``os.replace``: a crash or ``kill -9`` leaves the previous checkpoint intact.

The checkpoint before the last is kept beside it (``checkpoints/previous.pt``,
a hard link where the file system allows, else a copy), so that one damaged
file does not lose a run: :func:`load_checkpoint` falls back to it, saying so.
The two names are never one file: the old ``last.pt`` is linked to a temporary
name only once the new bytes are on disk, the new file then replaces
``last.pt``, and only then does the link replace ``previous.pt``; a crash at
any step leaves two different files (and at most temporary ones, which the
next start removes).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any, Callable

import torch

from improved_gan.errors import UserError
from improved_gan.runs.layout import CHECKPOINTS, LAST_CHECKPOINT as LAST, PREVIOUS_CHECKPOINT as PREVIOUS
from improved_gan.runs.layout import checkpoint_dir, latest_checkpoint  # the names, torch-free: runs/layout.py
from improved_gan.utils.atomic import atomic_torch_save, temporary_name

CHECKPOINT_VERSION = 1
REQUIRED_KEYS = ("epoch", "config", "image_shape", "num_classes", "generator", "discriminator", "step", "rng",
                 "history")
"""What every checkpoint the trainer writes holds; one without them is damaged."""


def save_checkpoint(run_dir: str | Path, state: dict[str, Any]) -> Path:
    """Write ``state`` (plus a version) as ``checkpoints/last.pt``, the file it replaces kept as
    ``previous.pt`` (never the same inode: module docstring); returns its path."""
    folder = checkpoint_dir(run_dir)
    path, previous = folder / LAST, folder / PREVIOUS
    staged: list[Path] = []

    def keep_old() -> None:  # the new bytes are complete: the old last.pt to a temporary name
        if path.is_file():
            staged.append(temporary_name(previous))
            try:
                os.link(path, staged[0])
            except OSError:  # no hard links here: copy
                shutil.copyfile(path, staged[0])

    try:
        atomic_torch_save({"version": CHECKPOINT_VERSION, **state}, path, before_replace=keep_old)
    except BaseException:
        for name in staged:
            name.unlink(missing_ok=True)
        raise
    if staged:
        os.replace(staged[0], previous)  # now a different file from last.pt
    return path


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def load_checkpoint(
    run_dir: str | Path,
    *,
    map_location: str | torch.device = "cpu",
    on_fallback: Callable[[str], None] = _warn,
    mmap: bool = False,
) -> dict[str, Any]:
    """Read the run's last checkpoint, or raise UserError saying what is wrong.

    When ``last.pt`` is damaged (unreadable, or without the keys every checkpoint
    holds) and ``previous.pt`` is sound, that one is returned and ``on_fallback``
    is told which epoch the run goes back to. ``mmap=True`` maps the tensors'
    storage instead of reading it: a cheap check of a large checkpoint.
    """
    folder = checkpoint_dir(run_dir)
    if folder.exists() and not folder.is_dir():
        raise UserError(f"{folder} is a file, not the run's folder of checkpoints; the run's checkpoints are gone "
                        "(put the folder back, or start the run again)")
    if latest_checkpoint(run_dir) is None:
        if any((folder / name).is_dir() for name in (LAST, PREVIOUS)):
            raise UserError(f"{folder / LAST} is a folder, not a checkpoint file, and there is no {PREVIOUS} to "
                            "fall back to; put the checkpoint file back")
        raise UserError(
            f"no checkpoint in {folder}: the run has not finished an epoch yet, "
            "or this is not a run folder made by `improved-gan train`"
        )
    last, previous = folder / LAST, folder / PREVIOUS
    if not last.is_file():
        state = _read(previous, map_location, mmap)
        what = "is a folder, not a checkpoint file" if last.is_dir() else "is missing"
        on_fallback(f"{last} {what}; using {previous} (epoch {state['epoch']})")
        return state
    try:
        return _read(last, map_location, mmap)
    except _Damaged as damaged:
        if not previous.is_file():
            raise UserError(f"{damaged}; no {PREVIOUS} to fall back to. {_next_step(run_dir)}") from None
        try:
            state = _read(previous, map_location, mmap)
        except _Damaged as also:
            same = (f" ({PREVIOUS} is the same file as {LAST}: a hard link an interrupted save of an earlier "
                    "version left)") if os.path.samefile(last, previous) else ""
            raise UserError(f"{damaged}; {also} as well{same}. {_next_step(run_dir)}") from None
        on_fallback(
            f"{damaged}; using {previous} instead (epoch {state['epoch']}: the epochs after it are trained again)"
        )
        return state


def _next_step(run_dir: str | Path) -> str:
    """What a user can do when no checkpoint of a run can be read."""
    return (f"The run cannot continue from its checkpoints: put a sound {LAST} back (from a backup), or train "
            f"it again into a new folder with the settings in {Path(run_dir) / 'config.json'}")


class _Damaged(UserError):
    pass


def _read(path: Path, map_location, mmap: bool = False) -> dict[str, Any]:
    if path.stat().st_size == 0:  # torch would say "Ran out of input", or talk of mmap and zip files
        raise _Damaged(f"{path} is empty (0 bytes); it is damaged")
    try:
        state = torch.load(path, map_location=map_location, weights_only=False, mmap=mmap)
    except (RuntimeError, ValueError) as err:
        if "cuda" in str(err).lower() or "device" in str(err).lower():  # a device this machine lacks, not damage
            raise UserError(f"{path} cannot be loaded onto {map_location}: {err}") from None
        raise _Damaged(f"{path} cannot be read ({type(err).__name__}: {_first_sentence(err)}); it is damaged") from None
    except Exception as err:  # torch raises many types for damaged files
        raise _Damaged(f"{path} cannot be read ({type(err).__name__}: {str(err)[:200]}); it is damaged") from None
    version = state.get("version") if isinstance(state, dict) else None
    if version != CHECKPOINT_VERSION:
        if isinstance(state, dict) and version is not None:
            raise UserError(
                f"{path} has checkpoint version {version!r}; this improved-gan reads version {CHECKPOINT_VERSION}"
            )
        raise _Damaged(f"{path} is not a checkpoint of improved-gan (no version); it is damaged")
    missing = [key for key in REQUIRED_KEYS if key not in state]
    if missing:
        raise _Damaged(f"{path} lacks {', '.join(missing)}; it is damaged")
    wrong = [f"{key!r} is not {what}" for key, what, fits in _SHAPES if not fits(state[key])]
    if wrong:
        raise _Damaged(f"{path}: {', '.join(wrong)} as the trainer writes it; it is damaged")
    return state


def _first_sentence(err: BaseException) -> str:
    """The start of an error's text (torch's errors for a damaged file run on for several sentences)."""
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return text.split(". ")[0][:200]


_SHAPES = (
    ("epoch", "an epoch count", lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0),
    ("config", "a config", lambda v: isinstance(v, dict)),
    ("generator", "a state dict", lambda v: isinstance(v, dict)),
    ("discriminator", "a state dict", lambda v: isinstance(v, dict)),
    ("step", "a dict of optimiser states", lambda v: isinstance(v, dict)),
    ("rng", "random-generator states", lambda v: isinstance(v, dict) and isinstance(v.get("torch"), torch.Tensor)
     and v.get("torch").dtype == torch.uint8 and isinstance(v.get("numpy"), dict)),
    ("history", "a list of epoch records", lambda v: isinstance(v, list) and all(isinstance(r, dict) for r in v)),
)
"""What each required entry of a checkpoint is: another kind means the file was damaged or edited."""


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
