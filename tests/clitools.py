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


def one_line_error(capsys, argv, *says: str) -> str:
    """``improved-gan ARGV`` in-process: exit status 2 and one line ``error: ...`` on stderr holding every
    text of ``says``; returns the line."""
    from improved_gan.cli.main import main

    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    for text in says:
        assert text in err, err
    return err
