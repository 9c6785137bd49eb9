"""Helpers of the command-line tests: ``improved-gan`` in a fresh interpreter (``cli``) or in-process with its
one-line refusals (``one_line_error``, and the rows of a command's refusal table: ``refusal``, ``refuses``), and
hand-made run folders (``fake_run``)."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import NamedTuple


def cli(*args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    """``improved-gan ARGS``; with ``check`` a non-zero exit fails the test with both streams."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", **kwargs.pop("env", {})}
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
             checkpoint: bool = False, previous: bool = False, exist_ok: bool = False, **fields):
    """A hand-made run folder (mnist-fm on mnist5k, 20 labels; ``fields`` change the config): its config.json,
    ``epochs_done`` rows of metrics (test errors ``errors[e]`` of 1,000) and, with ``checkpoint``, a last.pt
    of the right shape holding no networks (with ``previous``, a copy of it as previous.pt too). Enough for
    every command that reads a run's files, not its weights."""
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
        if previous:
            (folder / "checkpoints" / "previous.pt").write_bytes((folder / "checkpoints" / "last.pt").read_bytes())
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


def tree(folder) -> dict[str, object]:
    """Everything under ``folder``: each file's bytes, each folder, each symbolic link's target (links are not
    followed). Equal before and after a command: it made, changed and removed nothing there."""
    entries: dict[str, object] = {}
    for root, folders, names in os.walk(folder):
        for name in folders + names:
            path = os.path.join(root, name)
            key = os.path.relpath(path, folder)
            if os.path.islink(path):
                entries[key] = ("link to", os.readlink(path))
            elif os.path.isdir(path):
                entries[key] = "folder"
            else:
                with open(path, "rb") as file:
                    entries[key] = file.read()
    return entries


class Refusal(NamedTuple):
    """One row of a command's refusal table (see ``refusal``)."""

    argv: list[str]
    says: tuple[str, ...]
    unsaid: tuple[str, ...]
    env: dict[str, str]


def refusal(id: str, argv: list[str], *says: str, unsaid: tuple[str, ...] = (), env: dict[str, str] | None = None):
    """A row of a refusal table, named ``id`` after what it protects: ``improved-gan ARGV`` exits with status 2
    and one line holding every text of ``says`` and none of ``unsaid``, with the variables ``env`` set;
    ``{tmp}`` in ARGV, ``says`` and ``env`` is the test's folder. Checked by ``refuses``."""
    import pytest

    return pytest.param(Refusal(list(argv), says, unsaid, env or {}), id=id)


def refuses(capsys, monkeypatch, folder, case: Refusal) -> str:
    """Runs a ``refusal`` row in ``folder`` (its ``{tmp}``): one line (``one_line_error``) and ``folder`` left as it
    was, byte for byte (``tree``): nothing made, changed or removed. Returns the line."""
    def fill(text: str) -> str:
        return text.replace("{tmp}", str(folder))

    for name, value in case.env.items():
        monkeypatch.setenv(name, fill(value))
    before = tree(folder)
    err = one_line_error(capsys, [fill(a) for a in case.argv], *map(fill, case.says))
    for text in case.unsaid:
        assert fill(text) not in err, err
    assert tree(folder) == before, "the refused command changed the files"
    return err


def pretend_read_only(monkeypatch, folder) -> None:
    """Make the file system say EROFS for a new entry in ``folder`` (the probe of ``runs/out_paths.check_writable``):
    as root no folder refuses a write, so a read-only run folder is made this way."""
    import errno
    import tempfile
    from pathlib import Path

    real_mkdtemp = tempfile.mkdtemp

    def read_only(*args, dir=None, **kwargs):
        if dir is not None and Path(dir) == Path(folder):
            raise OSError(errno.EROFS, "Read-only file system")
        return real_mkdtemp(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkdtemp", read_only)
