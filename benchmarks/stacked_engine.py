"""Per-seed cost of the stacked engine (issue 15) beside the reference step and the products' floor.

In one process, interleaved: each round times, on each thread count, a block of
iterations of every variant in turn, so that a change in the machine's load
touches all of them alike. Variants:

- ``reference``: the single-run step (``training/steps/reference.ReferenceStep``), one seed;
- ``fast fp32``: the fused step (``training/steps/fast``) in float32, one seed, where it is importable;
- ``stacked S``: the stacked engine with S seeds (ms per iteration divided by S);
- ``floor``: the fp32 matrix products of one mnist-fm iteration alone (38 products,
  ``torch.mm`` on random operands of the iteration's shapes), one seed.

Prints the CPU's ISA (``torch.backends.cpu.get_cpu_capability()`` and the avx512/amx/bf16
flags of /proc/cpuinfo), the load average, and a table of medians over rounds.

    python benchmarks/stacked_engine.py --stacks 1 4 10 --threads 1 2 --rounds 3 --block 3
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import torch

from improved_gan.config import TrainConfig
from improved_gan.training.experiment_data import load_experiment_data
from improved_gan.training.stacked import StackedEngine, build_copy
from improved_gan.training.steps.reference import ReferenceStep


def cpu_description() -> str:
    flags = set()
    model = platform.processor()
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                elif line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    isa = sorted(f for f in flags if f.startswith(("avx512", "amx")) or f in ("avx2", "fma"))
    return (f"{model}; torch {torch.__version__}, capability {torch.backends.cpu.get_cpu_capability()}; "
            f"flags: {' '.join(isa) or 'none'}; native bf16: {'avx512_bf16' in flags or 'amx_bf16' in flags}")


def product_shapes(batch: int) -> list[tuple[int, int, int]]:
    """``(m, k, n)`` of the fp32 products of one mnist-fm iteration (reference-setup.md's networks)."""
    g = [(100, 500), (500, 500), (500, 784)]
    d = [(784, 1000), (1000, 500), (500, 250), (250, 250), (250, 250), (250, 10)]
    shapes = []
    # D step: G forward (B rows), D forward on 3B rows, D's weight gradients, its input gradients above layer 1
    shapes += [(batch, i, o) for i, o in g]
    shapes += [(3 * batch, i, o) for i, o in d]
    shapes += [(i, 3 * batch, o) for i, o in d]
    shapes += [(3 * batch, o, i) for i, o in d[1:]]
    # G step: G forward, D's trunk on 2B rows, D's input gradients for the B generated rows, G's backward
    shapes += [(batch, i, o) for i, o in g]
    shapes += [(2 * batch, i, o) for i, o in d[:5]]
    shapes += [(batch, o, i) for i, o in d[:5]]
    shapes += [(i, batch, o) for i, o in g] + [(batch, o, i) for i, o in g[1:]]
    return shapes


def fast_step(config: TrainConfig, data, device: torch.device):
    """The fused step in float32 for seed 0, or None where this checkout has none that applies."""
    try:
        from improved_gan.training.steps.fast import build_step
    except ImportError:
        return None
    copy = build_copy(config, data, device=device)
    return build_step(config, copy.generator, copy.discriminator, dtype=torch.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="mnist5k")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--stacks", type=int, nargs="+", default=[1, 4, 10])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--block", type=int, default=3, help="iterations per timed block")
    args = parser.parse_args()

    config = TrainConfig(preset="mnist-fm", dataset=args.dataset, data_dir=args.data_dir, precision="fp32")
    device = torch.device("cpu")
    data = load_experiment_data(config, device=device)
    iterations = args.block + 1
    config = TrainConfig(**{**config.to_dict(), "iters_per_epoch": iterations})

    # -- the variants: each a function running `block` iterations, and the seeds it trains ----------
    copy = build_copy(config, data, device=device)
    reference = ReferenceStep(config, copy.generator, copy.discriminator)
    x, y = data.x_unlabeled, data.y_unlabeled
    index = torch.randint(len(x), (3, config.batch_size))
    labeled = torch.from_numpy(copy.labeled_indices)[torch.randint(len(copy.labeled_indices), (config.batch_size,))]

    def run_reference(n: int) -> None:
        for _ in range(n):
            reference.discriminator_step(x[index[0]], x[labeled], y[labeled])
            reference.generator_step(x[index[1]])

    variants: dict[str, tuple] = {"reference": (run_reference, 1)}
    fast = fast_step(config, data, device)
    if fast is not None:

        def run_fast(n: int) -> None:
            for _ in range(n):
                fast.discriminator_step(x[index[0]], x[labeled], y[labeled])
                fast.generator_step(x[index[1]])

        variants["fast fp32"] = (run_fast, 1)
    for size in args.stacks:
        engine = StackedEngine.build(config, range(size), data=data, device=device)
        plan = engine.plan_epoch()

        def run_stacked(n: int, engine=engine, plan=plan) -> None:
            engine.train_iterations(plan[0][:n], plan[1][:n], plan[2][:n])

        variants[f"stacked S={size}"] = (run_stacked, size)
    operands = [(torch.randn(m, k), torch.randn(k, n)) for m, k, n in product_shapes(config.batch_size)]

    def run_floor(n: int) -> None:
        for _ in range(n):
            for a, b in operands:
                torch.mm(a, b)

    variants["floor: fp32 products"] = (run_floor, 1)

    # -- interleaved rounds: wall clock, and the process's CPU time (robust to other processes) -----
    times: dict[tuple[int, str], list[float]] = {}
    cpu_times: dict[tuple[int, str], list[float]] = {}
    for threads in args.threads:  # warm-up
        torch.set_num_threads(threads)
        for run, _ in variants.values():
            run(1)
    for _ in range(args.rounds):
        for threads in args.threads:
            torch.set_num_threads(threads)
            for name, (run, seeds) in variants.items():
                started, cpu_started = time.perf_counter(), time.process_time()
                run(args.block)
                per_seed = (time.perf_counter() - started) * 1000 / (args.block * seeds)
                cpu_per_seed = (time.process_time() - cpu_started) * 1000 / (args.block * seeds)
                times.setdefault((threads, name), []).append(per_seed)
                cpu_times.setdefault((threads, name), []).append(cpu_per_seed)

    print(f"CPU: {cpu_description()}")
    print(f"load average at the end: {os.getloadavg()}; {os.cpu_count()} logical CPUs")
    print(f"batch {config.batch_size}, {args.rounds} interleaved rounds of {args.block} iterations; "
          "medians (min-max); CPU time is the process's, summed over its threads\n")
    print("| threads | variant | wall ms/iteration per seed | x reference (wall) | CPU ms per seed | x reference (CPU) |")
    print("| ---: | --- | ---: | ---: | ---: | ---: |")
    for threads in args.threads:
        base = statistics.median(times[(threads, "reference")])
        cpu_base = statistics.median(cpu_times[(threads, "reference")])
        for name in variants:
            values, cpu = times[(threads, name)], cpu_times[(threads, name)]
            median, cpu_median = statistics.median(values), statistics.median(cpu)
            print(f"| {threads} | {name} | {median:.1f} ({min(values):.1f}-{max(values):.1f}) | {base / median:.2f} "
                  f"| {cpu_median:.1f} | {cpu_base / cpu_median:.2f} |")


if __name__ == "__main__":
    main()
