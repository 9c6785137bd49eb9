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


def fake_run(folder, *, epochs_done: int = 1, epochs: int = 2, seed: int = 0, errors=(500, 400),
             checkpoint: bool = False, exist_ok: bool = False, **fields):
    """A hand-made run folder (mnist-fm on mnist5k, 20 labels; ``fields`` change the config): its config.json,
    ``epochs_done`` rows of metrics (test errors ``errors[e]`` of 1,000) and, with ``checkpoint``, a last.pt
    of the right shape holding no networks. Enough for every command that reads a run's files, not its weights."""
    import json

    import torch

    from improved_gan.config import TrainConfig
    from improved_gan.runs.checkpoint import save_checkpoint

    folder.mkdir(parents=True, exist_ok=exist_ok)  # exist_ok: write over a fake run (a later epoch of it)
    config = TrainConfig(preset="mnist-fm", dataset="mnist5k", labels=20, epochs=epochs, seed=seed, **fields)
    (folder / "config.json").write_text(json.dumps(config.to_dict()))
    rows = [
        {"epoch": e + 1, "iterations": 4, "test_errors": errors[e], "test_examples": 1000,
         "test_error_rate": errors[e] / 1000, "loss_d": 1.0, "loss_g": 0.5, "seconds": 1.0}
        for e in range(epochs_done)
    ]  # fmt: skip
    (folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    if checkpoint and epochs_done:
        save_checkpoint(folder, {
            "epoch": epochs_done, "config": config.to_dict(), "image_shape": (1, 28, 28), "num_classes": 10,
            "generator": {}, "discriminator": {}, "step": {}, "history": rows,
            "rng": {"torch": torch.get_rng_state(), "numpy": {}},
        })  # fmt: skip
    return folder


def files(folder) -> dict[str, bytes]:
    """Every file under ``folder`` and its bytes, to check that a command changed none of them."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


class hold_run_lock:
    """``with hold_run_lock(RUN, pid):`` RUN's lock held by this process as a trainer holds it (running.pid,
    fcntl.flock, holding ``pid``): the run is being trained, for every other process and command."""

    def __init__(self, folder, pid: int) -> None:
        self.path, self.pid = folder / "running.pid", pid

    def __enter__(self):
        import fcntl

        self.file = open(self.path, "w")
        fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self.file.write(f"{self.pid}\n")
        self.file.flush()
        return self

    def __exit__(self, *exc) -> None:
        self.path.unlink(missing_ok=True)
        self.file.close()
