"""Run the ``improved-gan`` command in a fresh interpreter, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys


def cli(*args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    """``improved-gan ARGS``; with ``check`` a non-zero exit fails the test with both streams."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore", **kwargs.pop("env", {})}
    result = subprocess.run(
        [sys.executable, "-m", "improved_gan", *args], capture_output=True, text=True, env=env, **kwargs
    )
    if check and result.returncode != 0:
        raise AssertionError(f"improved-gan {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result
