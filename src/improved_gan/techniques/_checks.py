"""Argument checks shared by the techniques (private).

Shape mistakes raise :class:`ValueError` saying what was expected and what was
got, as :mod:`torch.nn` does. Impossible hyperparameters raise
:class:`~improved_gan.errors.ConfigError` (a ``ValueError`` too), because they
come from a user's configuration and the command line reports them as such.
"""

from __future__ import annotations

from typing import Sequence

from torch import Tensor

from improved_gan.errors import ConfigError


def check_choice(name: str, value: str, choices: Sequence[str]) -> None:
    """Raise :class:`ConfigError` unless ``value`` is one of ``choices``."""
    if value not in choices:
        valid = ", ".join(repr(c) for c in choices)
        raise ConfigError(f"{name} must be one of {valid} (got {value!r})")


def check_positive_int(name: str, value: int) -> None:
    """Raise :class:`ConfigError` unless ``value`` is an integer >= 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name} must be a positive integer (got {value!r})")


def check_positive_float(name: str, value: float) -> None:
    """Raise :class:`ConfigError` unless ``value`` is a number > 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ConfigError(f"{name} must be a positive number (got {value!r})")


def check_nonnegative_float(name: str, value: float) -> None:
    """Raise :class:`ConfigError` unless ``value`` is a number >= 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ConfigError(f"{name} must be a number >= 0 (got {value!r})")


def check_dim(name: str, tensor: Tensor, dim: int, layout: str) -> None:
    """Raise :class:`ValueError` unless ``tensor`` has ``dim`` dimensions.

    ``layout`` names the expected axes, e.g. ``"[N, A]"``.
    """
    if tensor.dim() != dim:
        raise ValueError(f"expected {name} of shape {layout} (got {tuple(tensor.shape)})")


def check_nonempty_batch(name: str, tensor: Tensor) -> None:
    """Raise :class:`ValueError` if ``tensor`` has no rows (a mean over it is undefined)."""
    if tensor.dim() == 0 or tensor.size(0) == 0:
        raise ValueError(f"expected {name} to hold at least one example (got shape {tuple(tensor.shape)})")
