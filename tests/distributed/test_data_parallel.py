"""Data parallelism on CPU with two real gloo processes (torch.multiprocessing; torchrun for kill -9 and resume)."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
from clitools import cli
from imagenet_folder import TINY_IMAGENET, make_image_folder
from inception_stand_in import write_stand_in_weights
from tiny_run import TINY

from distributed import ranks
from improved_gan.config import apply_overrides, parse_assignments, save_config
from improved_gan.experiments.presets import get_preset
from improved_gan.training.distributed import DistributedContext


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tiny_imagenet_config(folder: Path):
    """TINY_IMAGENET's --set values as a config (batch 4: 2 per rank, the joint batch's smallest halves)."""
    sets = parse_assignments([TINY_IMAGENET[i + 1] for i, a in enumerate(TINY_IMAGENET) if a == "--set"])
    return apply_overrides(get_preset("imagenet128"), {
        **sets, "data_dir": str(folder), "device": "cpu", "precision": "fp32", "batch_size": 4,
        "iters_per_epoch": 2, "epochs": 1, "checkpoint_every": 1,
    }).validate()


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory) -> list[dict]:
    """One job of two gloo processes (ranks.run_rank); each rank's saved results.

    Two epochs, the Inception score of 10 samples after each (stand-in weights): rank 0 scores while
    rank 1 goes on into epoch 2's first all-reduce."""
    root = tmp_path_factory.mktemp("ddp")
    run = root / "run"
    run.mkdir()
    config = dataclasses.replace(_tiny_imagenet_config(make_image_folder(root / "train")), epochs=2,
                                 epoch_score_every=1, epoch_score_samples=10).validate()
    save_config(config, run / "config.json")
    weights = root / "stand-in-inception.pth"
    inception = (str(weights), write_stand_in_weights(weights))
    mp.spawn(ranks.run_rank, args=(2, _free_port(), str(run), str(root), inception), nprocs=2, join=True)
    return [torch.load(root / f"rank{r}.pt", weights_only=False) for r in range(2)]


def _assert_equal_states(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_parameters_and_ema_are_equal_on_every_rank_after_training(two_ranks):
    first, second = two_ranks
    for part in ("generator", "discriminator", "ema"):
        _assert_equal_states(first[part], second[part])


def test_rank_0_scores_every_epoch_and_the_other_rank_does_not_wait_on_it(two_ranks):
    """Both ranks finished (the fixture joined them) with equal parameters (above); rank 0 wrote the scores."""
    rows = [json.loads(line) for line in two_ranks[0]["metrics"].splitlines()]
    assert [row["epoch"] for row in rows] == [1, 2]
    assert all(row["inception_score_mean"] == pytest.approx(1.0) for row in rows)  # 10 samples: 1 per split


def test_the_vbn_reference_batch_is_broadcast_from_rank_0(two_ranks):
    first, second = two_ranks
    assert not torch.equal(first["z_ref_before"], second["z_ref_before"])
    assert torch.equal(first["z_ref_after"], second["z_ref_after"])
    assert torch.equal(first["z_ref_after"], first["z_ref_before"])


def test_two_ranks_of_half_the_batch_equal_one_rank_of_the_whole_batch(two_ranks):
    """MNIST D with its noise off (no cross-sample layer), float64, three Adam steps; tolerance 1e-12."""
    single = ranks.discriminator_steps(DistributedContext())
    for rank in two_ranks:
        assert single.keys() == rank["equivalence"].keys()
        for key, value in single.items():
            torch.testing.assert_close(rank["equivalence"][key], value, rtol=1e-12, atol=1e-12)


def test_shards_tile_the_global_batch():
    rows = torch.arange(12).numpy()
    parts = [DistributedContext(rank=r, world_size=3, backend="gloo").shard(rows) for r in range(3)]
    assert [p.tolist() for p in parts] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]


def test_nccl_without_gpus_is_one_line():
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    env = {"IMPROVED_GAN_DIST_BACKEND": "nccl", "WORLD_SIZE": "2", "RANK": "0", "LOCAL_RANK": "0",
           "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port())}
    result = cli("train", "mnist-fm", *TINY, "--out", "/nonexistent/never", check=False, env=env)
    assert result.returncode == 2
    assert "the NCCL backend needs CUDA GPUs and this machine has none" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def _torchrun(*args: str, nproc: int = 2) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "IMPROVED_GAN_DIST_BACKEND": "gloo"}
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(nproc),
               "--master-port", str(_free_port()), "-m", "improved_gan", *args]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow  # torchrun: about 25 s on a loaded 2-core machine
def test_a_world_size_that_does_not_divide_the_batch_is_refused(tmp_path):
    proc = _torchrun("train", "mnist-fm", *TINY, "--batch-size", "21", "--out", str(tmp_path / "run"))
    _, err = proc.communicate(timeout=300)
    assert proc.returncode != 0
    assert "batch_size 21 (the global batch) does not divide over 2 processes" in err
    assert not (tmp_path / "run").exists()


def _rank_pid(launcher: int, rank: int) -> int | None:
    for child in Path(f"/proc/{launcher}/task/{launcher}/children").read_text().split():
        try:
            environ = Path(f"/proc/{child}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"RANK={rank}".encode() in environ:
            return int(child)
    return None


@pytest.mark.slow  # torchrun, then a resume: about 65 s on a loaded 2-core machine
def test_kill_9_of_one_rank_then_resume_with_another_world_size(tmp_path):
    run = tmp_path / "run"
    proc = _torchrun("train", "mnist-fm", *TINY, "--epochs", "12", "--out", str(run))
    metrics = run / "metrics.jsonl"
    deadline = time.monotonic() + 240
    while not (metrics.is_file() and len(metrics.read_text().splitlines()) >= 2):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the two ranks did not reach epoch 2 in time"
        time.sleep(0.05)
    victim = _rank_pid(proc.pid, 1)
    assert victim is not None
    os.kill(victim, signal.SIGKILL)
    proc.communicate(timeout=120)
    assert proc.returncode != 0
    done = len(metrics.read_text().splitlines())
    assert done < 12
    cli("train", "--resume", str(run))  # one process now
    rows = [json.loads(line) for line in metrics.read_text().splitlines()]
    assert [row["epoch"] for row in rows] == list(range(1, 13))
    state = torch.load(run / "checkpoints" / "last.pt", weights_only=False)
    assert state["epoch"] == 12
