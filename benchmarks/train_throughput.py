"""Training throughput of a preset's step on random data: ms per iteration and images per second.

Times :class:`improved_gan.training.steps.reference.ReferenceStep` (one D step on labeled +
unlabeled + generated batches, then the generator step(s)) for a preset's
networks, on CPU or GPU, in each requested precision, in the same process.
Random inputs suffice: the cost of a step does not depend on pixel values.
"Images/s" counts the images D sees in its step (3 x batch: labeled,
unlabeled, generated).

    python benchmarks/train_throughput.py cifar10-fm --device cuda --precision fp32 bf16
    python benchmarks/train_throughput.py mnist-fm --device cpu --iters 30
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time

import torch

from improved_gan.experiments.presets import get_preset
from improved_gan.training.build import build_models, initialise_models
from improved_gan.training.device import compute_dtype, resolve_device
from improved_gan.training.steps.reference import ReferenceStep
from improved_gan.training.trainer import configure_accelerator

SHAPES = {"mnist-mlp": (1, 28, 28), "cifar-conv": (3, 32, 32)}


def measure(preset: str, device: torch.device, precision: str, iters: int, warmup: int, repeats: int) -> dict:
    config = dataclasses.replace(get_preset(preset), precision=precision)
    channels_last = configure_accelerator(device, config)
    torch.manual_seed(0)
    shape = SHAPES[config.architecture]
    generator, discriminator = build_models(config, image_shape=shape, num_classes=10, device=device)
    memory = torch.channels_last if channels_last else torch.contiguous_format
    x = torch.rand(2000, *shape, device=device).contiguous(memory_format=memory)
    y = torch.randint(0, 10, (2000,), device=device)
    initialise_models(generator, discriminator, x, config)
    if channels_last:
        generator.to(memory_format=memory)
        discriminator.to(memory_format=memory)
    step = ReferenceStep(config, generator, discriminator, dtype=compute_dtype(precision))
    b = config.batch_size

    def iteration(i: int) -> None:
        idx = torch.randint(0, 2000, (3, b), device=device)
        step.discriminator_step(x[idx[0]], x[idx[1]], y[idx[1]])
        step.generator_step(x[idx[2]])

    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    for i in range(warmup):
        iteration(i)
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for i in range(iters):
            iteration(i)
        sync()
        times.append((time.perf_counter() - start) / iters)
    ms = 1000 * statistics.median(times)
    return {
        "preset": preset, "device": str(device), "precision": precision,
        "ms_per_iter": round(ms, 3), "images_per_s": round(3 * b / (ms / 1000), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("presets", nargs="+")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", nargs="+", default=["fp32", "bf16"])
    parser.add_argument("--iters", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    device = resolve_device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"# device: {name}, torch {torch.__version__}, threads {torch.get_num_threads()}")
    for preset in args.presets:
        for precision in args.precision:
            row = measure(preset, device, precision, args.iters, args.warmup, args.repeats)
            print(json.dumps(row))


if __name__ == "__main__":
    main()
