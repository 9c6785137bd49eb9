"""The mnist-fm training iteration on full MNIST: the reference step, the fast step and the floor.

Times, in one process and interleaved (so that other processes on a shared
machine slow every contender alike), for each thread count asked for:

- ``reference fp32``: :class:`~improved_gan.training.steps.reference.ReferenceStep`, float32;
- ``reference bf16``: the same under bf16 autocast;
- ``fast fp32`` and ``fast bf16``: :func:`improved_gan.training.steps.fast.build_step`;
- the floor: the iteration's matrix products alone (the shapes the fast step
  multiplies, 3.76 GFLOP), in bf16 and in float32.

Each block runs ``--block`` iterations of the real epoch loop (batches drawn
as the trainer draws them, gathered from the resident training set); a row
gives the median over ``--repeats`` blocks of ms per iteration (wall clock and
CPU time of the process: on a shared machine, one thread's CPU time is what an
idle core would take), s per epoch (600 iterations), achieved GFLOP/s (the
products' FLOPs over the wall time) and the ratio to the fp32 reference (the
median of the per-repeat ratios: the result; absolute times are noisy on a
shared machine). ``--epoch`` also times one whole epoch of the fast bf16 step.

    python benchmarks/mnist_step.py --data-dir /work/shared/data --threads 1 2 --out docs/speed-table.md
    python benchmarks/mnist_step.py --device cuda --threads 1

On CUDA the fast step runs its PyTorch operations (no C kernels); the
threads then only drive the host side.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from improved_gan.experiments.presets import get_preset
from improved_gan.training.batches import epoch_plan, iterations_per_epoch
from improved_gan.training.build import build_models, initialise_models
from improved_gan.training.device import resolve_device
from improved_gan.training.experiment_data import load_experiment_data
from improved_gan.training.steps.fast import build_step
from improved_gan.training.steps.fast.networks import discriminator_layers, generator_layers
from improved_gan.training.steps.reference import ReferenceStep
from improved_gan.utils.atomic import atomic_write_text

REFERENCE = "reference fp32"


# -- the work ------------------------------------------------------------------------------

def product_shapes(widths_d: list[int], widths_g: list[int], batch: int) -> list[tuple[int, int, int]]:
    """``(m, k, n)`` of every ``[m, k] x [k, n]`` product one iteration needs.

    D step: G forward on ``batch`` latents (no gradient); D forward on 3 x ``batch``
    rows, its weight gradients, its input gradients below the first layer. G step:
    G forward; D's trunk (all layers but the logits) forward on the real and
    generated batches together; the trunk's input gradients for the generated rows;
    G's weight gradients and its input gradients below the first layer.
    """
    shapes = [(batch, i, o) for i, o in zip(widths_g, widths_g[1:])]
    for layer, (i, o) in enumerate(zip(widths_d, widths_d[1:])):
        shapes += [(3 * batch, i, o), (o, 3 * batch, i)] + ([(3 * batch, o, i)] if layer else [])
    shapes += [(batch, i, o) for i, o in zip(widths_g, widths_g[1:])]
    for i, o in zip(widths_d[:-2], widths_d[1:-1]):
        shapes += [(2 * batch, i, o), (batch, o, i)]
    for layer, (i, o) in enumerate(zip(widths_g, widths_g[1:])):
        shapes += [(o, batch, i)] + ([(batch, o, i)] if layer else [])
    return shapes


def layer_widths(generator: torch.nn.Module, discriminator: torch.nn.Module) -> tuple[list[int], list[int]]:
    """The widths of D's dense layers (input first, logits last) and G's (latent first, pixels last)."""
    d, g = discriminator_layers(discriminator), generator_layers(generator)
    widths_d = [d.hidden[0].layer.in_features] + [n.layer.out_features for n in (*d.hidden, d.output)]
    widths_g = [g.blocks[0].linear.in_features] + [b.linear.out_features for b in g.blocks] + [g.output.out_features]
    return widths_d, widths_g


def products(shapes: list[tuple[int, int, int]], dtype: torch.dtype, device: torch.device) -> Callable[[], None]:
    """One iteration's products in ``dtype`` (random operands)."""
    operands = [(torch.randn(m, k).to(device, dtype), torch.randn(k, n).to(device, dtype)) for m, k, n in shapes]

    def run() -> None:
        for a, b in operands:
            torch.mm(a, b)

    return run


# -- timing --------------------------------------------------------------------------------

@dataclasses.dataclass
class Sample:
    wall: float   # seconds per iteration
    cpu: float    # process CPU seconds per iteration (all threads)


def timed(run: Callable[[], None], iterations: int, device: torch.device) -> Sample:
    synchronize = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    synchronize()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(iterations):
        run()
    synchronize()
    return Sample((time.perf_counter() - wall) / iterations, (time.process_time() - cpu) / iterations)


class EpochLoop:
    """The trainer's epoch loop for one step: batches from a plan drawn as the trainer draws them."""

    def __init__(self, step, data, config, seed: int) -> None:
        self.step, self.data, self.config = step, data, config
        self.rng = np.random.default_rng(seed)
        self.iterations = iterations_per_epoch(len(data.x_unlabeled), config.batch_size)
        self._new_plan()

    def _new_plan(self) -> None:
        self.plan = epoch_plan(
            self.rng, num_unlabeled=len(self.data.x_unlabeled), labeled_indices=self.data.labeled_indices,
            batch_size=self.config.batch_size, iterations=self.iterations,
        )
        self.i = 0

    def __call__(self) -> None:
        if self.i == self.iterations:
            self._new_plan()
        x, y, plan, i = self.data.x_unlabeled, self.data.y_unlabeled, self.plan, self.i
        self.step.discriminator_step(x[plan.unlabeled[i]], x[plan.labeled[i]], y[plan.labeled[i]])
        self.step.generator_step(x[plan.unlabeled_fm[i]])
        self.i += 1


def build_contenders(config, data, device: torch.device) -> tuple[dict[str, EpochLoop], tuple[list[int], list[int]]]:
    torch.manual_seed(config.seed)
    generator, discriminator = build_models(config, image_shape=data.image_shape, num_classes=10, device=device)
    initialise_models(generator, discriminator, data.x_unlabeled, config)
    fp32, bf16 = torch.float32, torch.bfloat16
    factories = {
        REFERENCE: lambda g, d: ReferenceStep(config, g, d, dtype=fp32),
        "reference bf16": lambda g, d: ReferenceStep(config, g, d, dtype=bf16),
        "fast fp32": lambda g, d: build_step(config, g, d, dtype=fp32),
        "fast bf16": lambda g, d: build_step(config, g, d, dtype=bf16),
    }
    loops = {}
    for name, factory in factories.items():
        step = factory(*copy.deepcopy((generator, discriminator)))
        if step is None:
            raise SystemExit(f"the fast step does not apply to {config.preset}")
        loops[name] = EpochLoop(step, data, config, config.seed)
    return loops, layer_widths(generator, discriminator)


def measure(
    loops: dict[str, Callable[[], None]], repeats: int, block: int, warmup: int, device: torch.device
) -> dict[str, list[Sample]]:
    """``repeats`` interleaved rounds: each contender runs ``block`` iterations per round."""
    for run in loops.values():
        timed(run, warmup, device)
    samples: dict[str, list[Sample]] = {name: [] for name in loops}
    for _ in range(repeats):
        for name, run in loops.items():
            samples[name].append(timed(run, block, device))
    return samples


# -- the report ------------------------------------------------------------------------------

def table(results: dict[int, dict[str, list[Sample]]], flops: float, epoch_iterations: int) -> str:
    lines = [
        "| threads | step | ms/iteration (wall) | ms/iteration (CPU) | s/epoch (wall) | s/epoch (CPU) "
        "| GFLOP/s (wall) | x reference fp32 |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for threads, samples in results.items():
        reference = samples[REFERENCE]
        for name, runs in samples.items():
            wall = statistics.median(s.wall for s in runs)
            cpu = statistics.median(s.cpu for s in runs)
            speedup = statistics.median(r.wall / s.wall for r, s in zip(reference, runs))
            low, high = min(s.wall for s in runs), max(s.wall for s in runs)
            lines.append(
                f"| {threads} | {name} | {wall * 1e3:.1f} ({low * 1e3:.1f}-{high * 1e3:.1f}) | {cpu * 1e3:.1f} "
                f"| {wall * epoch_iterations:.1f} | {cpu * epoch_iterations:.1f} | {flops / wall / 1e9:.0f} | {speedup:.2f} |"
            )
    return "\n".join(lines)


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} logical CPUs, torch {torch.__version__}, Python {platform.python_version()}"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=None, help="folder holding mnist/ (else $IMPROVED_GAN_DATA)")
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:N] (default cpu)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=7, help="interleaved rounds (default 7)")
    parser.add_argument("--block", type=int, default=10, help="iterations per contender per round (default 10)")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--epoch", action="store_true", help="also time one whole epoch of the fast bf16 step")
    parser.add_argument("--out", type=Path, default=None, help="write the markdown report here too")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    config = dataclasses.replace(get_preset("mnist-fm"), dataset=args.dataset, data_dir=args.data_dir).validate()
    device = resolve_device(args.device)
    data = load_experiment_data(config, device=device)
    loops, (widths_d, widths_g) = build_contenders(config, data, device)
    shapes = product_shapes(widths_d, widths_g, config.batch_size)
    flops = sum(2.0 * m * k * n for m, k, n in shapes)
    contenders = {**loops, "floor: products bf16": products(shapes, torch.bfloat16, device),
                  "floor: products fp32": products(shapes, torch.float32, device)}
    epoch_iterations = loops[REFERENCE].iterations
    load_before = os.getloadavg()
    results, epochs = {}, {}
    for threads in args.threads:
        torch.set_num_threads(threads)
        results[threads] = measure(contenders, args.repeats, args.block, args.warmup, device)
        if args.epoch:
            epochs[threads] = timed(loops["fast bf16"], epoch_iterations, device).wall * epoch_iterations
    load_after = os.getloadavg()
    report = [
        f"Machine: {machine()}{f', {torch.cuda.get_device_name(device)}' if device.type == 'cuda' else ''}. Load average (1, 5, 15 min) before: "
        f"{', '.join(f'{x:.1f}' for x in load_before)}; after: {', '.join(f'{x:.1f}' for x in load_after)}.",
        f"Data: {config.dataset}, {len(data.x_unlabeled)} training images, {epoch_iterations} iterations per epoch; "
        f"products: {len(shapes)} per iteration, {flops / 1e9:.2f} GFLOP.",
        f"Median of {args.repeats} interleaved blocks of {args.block} iterations (min-max in brackets); "
        "CPU = process time (all threads; with one thread, what an idle core would take); "
        "s/epoch = ms/iteration x iterations.",
        "",
        table(results, flops, epoch_iterations),
    ]
    for threads, seconds in epochs.items():
        report.append(f"\nOne whole epoch of the fast bf16 step, {threads} thread(s): {seconds:.1f} s.")
    report.append(f"\nCommand: `python {' '.join(sys.argv)}`")
    text = "\n".join(report) + "\n"
    print(text)
    if args.out is not None:
        atomic_write_text(args.out, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
