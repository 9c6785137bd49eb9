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


def fake_run(folder, **fields):
    """A run folder as `train` leaves it after one epoch, without a checkpoint: enough for every check made
    before a checkpoint is read (mnist-fm on mnist5k, 20 labels, 2 epochs planned; ``fields`` change the config)."""
    import json

    from improved_gan.config import TrainConfig

    folder.mkdir(parents=True)
    config = TrainConfig(preset="mnist-fm", dataset="mnist5k", labels=20, epochs=2, **fields)
    (folder / "config.json").write_text(json.dumps(config.to_dict()))
    row = {"epoch": 1, "iterations": 2, "test_errors": 500, "test_examples": 1000, "test_error_rate": 0.5}
    (folder / "metrics.jsonl").write_text(json.dumps(row) + "\n")
    return folder


def files(folder) -> dict[str, bytes]:
    """Every file under ``folder`` and its bytes, to check that a command changed none of them."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
