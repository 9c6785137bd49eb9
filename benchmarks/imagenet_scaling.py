"""What data-parallel imagenet128 costs per step: the gradient bytes all-reduced, the compute, and the
expected efficiency at N devices (docs/distributed.md, "Expected scaling").

For each ImageNet preset at its full widths:

- the trainable parameters of G and D: the trainer all-reduces every gradient once per step, float32
  (training/distributed.py: one flattened ``all_reduce`` per optimiser, G's and D's);
- the floating-point operations of one training step of one device (``--batch`` real images, 16 as the
  authors' towers), counted by ``torch.utils.flop_counter.FlopCounterMode`` on a real step;
- the measured seconds of that step on ``--device`` (median of ``--steps`` after one warm-up step);
- with ``--allreduce``: the measured seconds of one gloo all-reduce of G's and of D's flattened gradient
  between 2 local CPU processes (this machine's loopback, not a GPU interconnect);
- the expected efficiency ``t_c / (t_c + t_ar(N))`` at N = 4 and 8 for assumed bus bandwidths
  (``--bus-gbs``) and assumed sustained device throughputs (``--device-tflops``): the reduction is not
  overlapped with the backward, and a ring all-reduce moves ``2 (N-1) / N`` of the bytes through each
  device's link (``t_ar = 2 (N-1) / N * bytes / bus bandwidth``, nccl-tests' "bus bandwidth").

    python benchmarks/imagenet_scaling.py [--device cpu] [--batch 16] [--steps 2] [--allreduce]

The assumptions are arguments, printed beside what they produce; only the counts, the FLOPs and the
seconds are measured.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.utils.flop_counter import FlopCounterMode

from improved_gan.experiments.presets import get_preset
from improved_gan.models.imagenet import IMAGENET_IMAGE_SHAPE
from improved_gan.training.build import build_models
from improved_gan.training.steps import make_step

PRESETS = ("imagenet128", "imagenet128-dcgan")


def _parameters(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def step_cost(preset: str, device: torch.device, batch: int, steps: int) -> dict:
    """Parameter counts, FLOPs and measured seconds of one training step of ``batch`` real images."""
    torch.manual_seed(0)
    config = get_preset(preset).validate()
    classes = 1000
    g, d = build_models(config, image_shape=IMAGENET_IMAGE_SHAPE, num_classes=classes, device=device)
    step = make_step(config, g, d, device=device, dtype=torch.float32)
    x = torch.rand(batch, *IMAGENET_IMAGE_SHAPE, device=device) * 2 - 1
    y = torch.randint(0, classes, (batch,), device=device) if config.mode == "supervised" else None

    def one_step() -> None:
        step.discriminator_step(x, None if y is None else x, y)
        step.generator_step(x)
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    with FlopCounterMode(display=False) as counter:
        one_step()  # also the warm-up
    seconds = []
    for _ in range(steps):
        started = time.perf_counter()
        one_step()
        seconds.append(time.perf_counter() - started)
    return {"preset": preset, "g_params": _parameters(g), "d_params": _parameters(d),
            "flops": counter.get_total_flops(), "seconds": statistics.median(seconds)}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _allreduce_rank(rank: int, port: int, sizes: list[int], repeats: int, out) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=2)
    result = []
    for size in sizes:
        flat = torch.ones(size)
        dist.all_reduce(flat)  # warm-up
        seconds = []
        for _ in range(repeats):
            dist.barrier()
            started = time.perf_counter()
            dist.all_reduce(flat)
            seconds.append(time.perf_counter() - started)
        result.append(statistics.median(seconds))
    if rank == 0:
        out.put(result)
    dist.destroy_process_group()


def gloo_allreduce_seconds(sizes: list[int], repeats: int = 3) -> list[float]:
    """Median seconds of one gloo all-reduce of ``size`` float32 values between 2 local processes."""
    context = mp.get_context("spawn")
    queue = context.Queue()
    mp.start_processes(_allreduce_rank, args=(_free_port(), sizes, repeats, queue), nprocs=2, join=True,
                       start_method="spawn")
    return queue.get()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=16, help="real images per device and step (authors: 16)")
    parser.add_argument("--steps", type=int, default=2, help="timed steps after one warm-up step")
    parser.add_argument("--allreduce", action="store_true", help="also time gloo all-reduces between 2 CPU processes")
    parser.add_argument("--bus-gbs", default="200,20", help="assumed all-reduce bus bandwidths, GB/s")
    parser.add_argument("--device-tflops", default="20,50", help="assumed sustained device throughputs, TFLOP/s")
    args = parser.parse_args()
    device = torch.device(args.device)
    print(f"torch {torch.__version__}, CPU capability {torch.backends.cpu.get_cpu_capability()}, "
          f"{torch.get_num_threads()} threads, device {device}, load average {os.getloadavg()[0]:.1f}")
    buses = [float(v) for v in args.bus_gbs.split(",")]
    rates = [float(v) for v in args.device_tflops.split(",")]
    for preset in PRESETS:
        cost = step_cost(preset, device, args.batch, args.steps)
        g_bytes, d_bytes = 4 * cost["g_params"], 4 * cost["d_params"]
        total = g_bytes + d_bytes
        print(f"\n{preset}: G {cost['g_params']:,} and D {cost['d_params']:,} trainable parameters; "
              f"all-reduced per step {g_bytes / 1e6:.1f} + {d_bytes / 1e6:.1f} = {total / 1e6:.1f} MB (float32)")
        print(f"  one step at {args.batch} images per device: {cost['flops'] / 1e9:.1f} GFLOP, "
              f"measured {cost['seconds']:.3f} s on {device} ({cost['flops'] / cost['seconds'] / 1e9:.1f} GFLOP/s)")
        if args.allreduce:
            g_s, d_s = gloo_allreduce_seconds([cost["g_params"], cost["d_params"]])
            print(f"  gloo all-reduce, 2 CPU processes: G {g_s:.3f} s + D {d_s:.3f} s = {g_s + d_s:.3f} s "
                  f"({total / (g_s + d_s) / 1e9:.2f} GB/s of gradient)")
        for n in (4, 8):
            moved = 2 * (n - 1) / n * total
            for bus in buses:
                t_ar = moved / (bus * 1e9)
                parts = []
                for rate in rates:
                    t_c = cost["flops"] / (rate * 1e12)
                    parts.append(f"at {rate:g} TFLOP/s t_c {t_c * 1e3:.1f} ms -> {100 * t_c / (t_c + t_ar):.0f}%")
                print(f"  N={n}: {moved / 1e9:.3f} GB through each link; at {bus:g} GB/s t_ar {t_ar * 1e3:.1f} ms; "
                      + "; ".join(parts))


if __name__ == "__main__":
    main()
