"""Images per second of data-parallel training on CPU: 1 and 2 gloo processes, same global batch.

Each configuration is a real run of ``improved-gan train`` (under ``torchrun``
for 2 processes) with the same global batch; the figure is the images of the
timed epochs (all but the first, which holds start-up) over their wall time,
read from the run's ``metrics.jsonl`` (``seconds`` per epoch). Default model:
imagenet128 at narrow widths on a small folder of CIFAR-10 images resized to
128 px (the same folder as the tests); ``--preset mnist-fm`` times the MNIST
MLPs on mnist5k instead.

    python benchmarks/distributed_throughput.py [--batch 16] [--iters 4] [--epochs 3]

On a shared machine the numbers are a floor: say so where they are quoted.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from imagenet_folder import TINY_IMAGENET, make_image_folder  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _arguments(preset: str, folder: Path, batch: int, iters: int, epochs: int) -> list[str]:
    if preset == "imagenet128":
        base = [a for a in TINY_IMAGENET]
        base += ["--data-dir", str(folder)]
    else:
        base = ["--dataset", "mnist5k", "--labels", "20", "--precision", "fp32", "--no-progress",
                "--set", "sample_grid=16", "--set", "final_score_samples=0", "--set", "epoch_score_every=0"]
    return [*base, "--batch-size", str(batch), "--iters-per-epoch", str(iters), "--epochs", str(epochs),
            "--device", "cpu"]


def measure(preset: str, processes: int, folder: Path, batch: int, iters: int, epochs: int) -> float:
    run = Path(tempfile.mkdtemp(prefix=f"dist{processes}-")) / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "IMPROVED_GAN_DIST_BACKEND": "gloo", "PYTHONWARNINGS": "ignore"}
    command = [sys.executable, "-m", "improved_gan", "train", preset, *_arguments(preset, folder, batch, iters, epochs),
               "--out", str(run)]
    if processes > 1:
        command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(processes),
                   "--master-port", str(_free_port()), *command[1:]]
    subprocess.run(command, env=env, check=True, capture_output=True)
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()][1:]
    return sum(r["iterations"] for r in rows) * batch / sum(r["seconds"] for r in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="imagenet128", choices=["imagenet128", "mnist-fm"])
    parser.add_argument("--batch", type=int, default=16, help="global batch (even)")
    parser.add_argument("--iters", type=int, default=4, help="iterations per epoch")
    parser.add_argument("--epochs", type=int, default=3, help="epochs (the first is not timed)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = make_image_folder(Path(tmp) / "train", per_class=max(4, args.batch // 3 + 1))
        results = {p: measure(args.preset, p, folder, args.batch, args.iters, args.epochs) for p in (1, 2)}
    print(f"{args.preset}, global batch {args.batch}, CPU, gloo, 1 thread per process, load {os.getloadavg()[0]:.1f}")
    for processes, rate in results.items():
        print(f"  {processes} process{'es' * (processes > 1)}: {rate:8.1f} images/s")
    print(f"  scaling 2 vs 1: {results[2] / results[1]:.2f}x")


if __name__ == "__main__":
    main()
