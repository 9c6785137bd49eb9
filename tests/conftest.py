"""Fixtures shared by the whole suite.

The real datasets live outside the repository, in ``../shared/data`` beside the
checkout (CI has them there too); ``IMPROVED_GAN_SHARED_DATA`` points elsewhere.
Tests that need them skip with the reason when they are absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]


def pytest_configure(config) -> None:
    """Under pytest-xdist, each worker gets its share of the cores for torch's own threads (two
    workers with two threads each on two cores would slow every test down)."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1:
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))


def _shared_data_root() -> Path:
    return Path(os.environ.get("IMPROVED_GAN_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder holding ``mnist/`` and ``cifar10/`` (the real data, read-only)."""
    root = _shared_data_root()
    if not (root / "mnist").is_dir():
        pytest.skip(f"real datasets not found at {root} (set IMPROVED_GAN_SHARED_DATA)")
    return root


@pytest.fixture(autouse=True)
def _deterministic_torch():
    """Every test starts from the same global RNG state and a bounded thread count."""
    torch.manual_seed(0)
    yield
