"""Where the fast mnist-fm step's time goes, and what bf16 does to its gradients (docs/speed.md).

Prints, with one thread and thread CPU time (so that other processes on a
shared machine do not count), or with ``--threads N`` (N > 1) in wall-clock
time, which means something only on otherwise idle cores:

- stages: the fast bf16 step's time per iteration by stage (forward and
  backward passes, Adam with D's EMA, losses, the rest), its products alone,
  and its number of PyTorch operator calls;
- with ``--products``: each product shape timed alone, on 1 and N threads;
- noise: ns per standard normal, the native kernel (added and stored) against
  ``torch.randn``; and PyTorch's own element-wise kernels that the fast step
  replaces (softplus, ``where`` with a scalar, ``var_mean``), in ns per element;
- bf16: the relative L2 error of every parameter's gradient after one
  iteration from mnist-fm's initialisation (noise off), for the fast bf16 step
  and for the reference step under bf16 autocast, against the fp32 reference.

    python benchmarks/fast_step_parts.py --data-dir /work/shared/data
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import functools
import statistics
import sys
import time
from collections import defaultdict
from typing import Callable

import torch
import torch.nn.functional as F

from improved_gan.experiments.presets import get_preset
from improved_gan.training.build import build_models, initialise_models
from improved_gan.training.experiment_data import load_experiment_data
from improved_gan.training.steps.fast import build_step
from improved_gan.training.steps.fast.ops import NativeOps
from improved_gan.training.steps.reference import ReferenceStep

CPU = torch.device("cpu")


def median_ms(run: Callable[[], object], repeats: int = 30, clock: Callable[[], float] = time.thread_time) -> float:
    """Median time of ``run()`` in ms after a warm-up, by ``clock`` (thread CPU time; wall clock
    with ``time.perf_counter``, meaningful on idle cores only)."""
    for _ in range(3):
        run()
    times = []
    for _ in range(repeats):
        start = clock()
        run()
        times.append(clock() - start)
    return statistics.median(times) * 1e3


def models(config, data, *, noise: bool = True):
    torch.manual_seed(config.seed)
    if not noise:
        config = dataclasses.replace(config, d_input_noise=0.0)
    generator, discriminator = build_models(config, image_shape=data.image_shape, num_classes=10, device=CPU)
    if not noise:
        for module in discriminator.modules():
            if hasattr(module, "std"):
                module.std = 0.0
    initialise_models(generator, discriminator, data.x_unlabeled, config)
    return generator, discriminator


def batches(data, batch: int, i: int):
    x, y = data.x_unlabeled, data.y_unlabeled
    a = (3 * batch * i) % (len(x) - 3 * batch)
    return x[a:a + batch], x[a + batch:a + 2 * batch], y[a + batch:a + 2 * batch], x[a + 2 * batch:a + 3 * batch]


def iterate(step, data, batch: int, i: int) -> None:
    x_unl, x_lab, y_lab, x_fm = batches(data, batch, i)
    step.discriminator_step(x_unl, x_lab, y_lab)
    step.generator_step(x_fm)


# -- stages --------------------------------------------------------------------------------

def stages(config, data, iterations: int, clock: Callable[[], float] = time.thread_time) -> dict[str, float]:
    """ms per iteration of each stage of the fast bf16 step, timed by ``clock`` (thread CPU time)."""
    step = build_step(config, *models(config, data), dtype=torch.bfloat16)
    totals: dict[str, float] = defaultdict(float)

    def timed(owner, name: str, label: str) -> None:
        method = getattr(owner, name)

        @functools.wraps(method)
        def wrapper(*args, **kwargs):
            start = clock()
            result = method(*args, **kwargs)
            totals[label] += clock() - start
            return result

        setattr(owner, name, wrapper)

    d, g = step.fast_discriminator, step.fast_generator
    timed(d, "forward", "D forward (2 passes)")
    timed(d, "backward_parameters", "D backward, parameters")
    timed(d, "backward_input", "D backward, generated images")
    timed(g, "forward", "G forward (2 passes)")
    timed(g, "backward", "G backward")
    timed(step.update_d, "step", "Adam (D and G)")
    timed(step.update_g, "step", "Adam (D and G)")
    timed(step.ema, "update", "EMA of D")
    for i in range(5):
        iterate(step, data, config.batch_size, i)
    totals.clear()
    products = [0.0]
    mm = torch.mm

    def timed_mm(a, b):
        start = clock()
        result = mm(a, b)
        products[0] += clock() - start
        return result

    torch.mm = timed_mm
    try:
        start = clock()
        for i in range(iterations):
            iterate(step, data, config.batch_size, i)
        total = clock() - start
    finally:
        torch.mm = mm
    result = {label: seconds / iterations * 1e3 for label, seconds in totals.items()}
    result["the rest (losses, scales, Python)"] = total / iterations * 1e3 - sum(result.values())
    result["total"] = total / iterations * 1e3
    result["of which products (torch.mm)"] = products[0] / iterations * 1e3
    return result


# -- products by shape ------------------------------------------------------------------------

def product_scaling(config, data, threads: list[int]) -> list[tuple[str, int, list[float]]]:
    """The fast bf16 step's products, grouped by shape and operand layout:
    ``(description, calls per iteration, [ms per iteration at each thread count])``, wall clock."""
    step = build_step(config, *models(config, data), dtype=torch.bfloat16)
    calls: dict[tuple, list] = {}
    mm = torch.mm

    def record(a, b):
        key = (tuple(a.shape), a.stride(1) != 1, tuple(b.shape), b.stride(1) != 1, a.dtype)
        calls.setdefault(key, [a.clone(), b.clone(), 0])  # clone keeps a transposed view's layout
        calls[key][2] += 1
        return mm(a, b)

    iterate(step, data, config.batch_size, 0)
    torch.mm = record
    try:
        iterate(step, data, config.batch_size, 1)
    finally:
        torch.mm = mm
    rows = []
    for (shape_a, a_t, shape_b, b_t, dtype), (a, b, count) in calls.items():
        times = []
        for n in threads:
            torch.set_num_threads(n)
            times.append(median_ms(lambda: mm(a, b), 50, time.perf_counter) * count)
        label = f"[{shape_a[0]}, {shape_a[1]}]{'ᵀ' if a_t else ''} x [{shape_b[0]}, {shape_b[1]}]{'ᵀ' if b_t else ''} {str(dtype)[6:]}"
        rows.append((label, count, times))
    return rows


def pytorch_calls(config, data, iterations: int = 10) -> float:
    """Top-level PyTorch operator calls per iteration of the fast bf16 step (``torch.profiler``;
    the C kernels, called through ctypes, are not among them)."""
    from torch.profiler import ProfilerActivity, profile

    step = build_step(config, *models(config, data), dtype=torch.bfloat16)
    iterate(step, data, config.batch_size, 0)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for i in range(iterations):
            iterate(step, data, config.batch_size, i)
    return sum(event.cpu_parent is None for event in prof.events()) / iterations


# -- element-wise kernels --------------------------------------------------------------------

def elementwise() -> dict[str, float]:
    """ns per element."""
    n = 1 << 20
    x, q = torch.zeros(n), torch.randn(100, 500)
    h, g = torch.randn(300, 1000), torch.randn(300, 1000).bfloat16()
    ops = NativeOps()
    return {
        "native noise, added and stored (1M)": median_ms(lambda: ops.input_noise(x, 1.0, torch.float32, 1, 0)) * 1e6 / n,
        "torch.randn (1M)": median_ms(lambda: torch.randn(n)) * 1e6 / n,
        "F.softplus [100, 500]": median_ms(lambda: F.softplus(q)) * 1e6 / q.numel(),
        "torch.where(h > 0, bf16.float(), 0.0) [300, 1000]": median_ms(lambda: torch.where(h > 0, g.float(), 0.0)) * 1e6 / h.numel(),
        "torch.var_mean(dim=0) [100, 500]": median_ms(lambda: torch.var_mean(q, dim=0, correction=0)) * 1e6 / q.numel(),
    }


# -- bf16 gradients ------------------------------------------------------------------------------

def bf16_gradient_errors(config, data) -> list[tuple[str, float, float]]:
    """``(parameter, fast bf16 error, autocast error)``: relative L2 errors against fp32."""
    nets = {name: copy.deepcopy(models(config, data, noise=False)) for name in ("fp32", "autocast", "fast")}
    reference = ReferenceStep(config, *nets["fp32"])
    autocast = ReferenceStep(config, *nets["autocast"], dtype=torch.bfloat16)
    fast = build_step(config, *nets["fast"], dtype=torch.bfloat16)
    for optimiser in (reference.opt_d, reference.opt_g, autocast.opt_d, autocast.opt_g):
        optimiser.step = lambda: None  # keep the gradients
    recorded = []
    fast.update_d.step = fast.update_g.step = lambda gradients, **_: recorded.extend(gradients)
    for step in (reference, autocast, fast):
        torch.manual_seed(1)
        iterate(step, data, config.batch_size, 0)
    fast_grads = {id(g.param): g.dense() for g in recorded}

    def error(got: torch.Tensor, want: torch.Tensor) -> float:
        return float((got.double() - want.double()).norm() / want.double().norm())

    rows = []
    for prefix, index in (("G", 0), ("D", 1)):
        triples = zip(nets["fp32"][index].named_parameters(), nets["autocast"][index].parameters(),
                      nets["fast"][index].parameters())
        for (name, p), p_autocast, p_fast in triples:
            rows.append((f"{prefix}.{name}", error(fast_grads[id(p_fast)], p.grad), error(p_autocast.grad, p.grad)))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--iterations", type=int, default=40)
    parser.add_argument("--threads", type=int, default=1,
                        help="intra-op threads; above 1 the stages are timed in wall-clock time (idle cores only)")
    parser.add_argument("--stages-only", action="store_true", help="skip the element-wise and bf16 tables")
    parser.add_argument("--products", action="store_true",
                        help="also time each product shape alone, with 1 and --threads threads (wall clock; idle cores)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    clock = time.thread_time if args.threads == 1 else time.perf_counter
    config = dataclasses.replace(get_preset("mnist-fm"), dataset=args.dataset, data_dir=args.data_dir).validate()
    data = load_experiment_data(config, device=CPU)
    timing = "thread CPU time" if args.threads == 1 else "wall clock"
    print(f"| fast bf16 step, stage ({args.threads} thread(s), {timing}) | ms/iteration |\n| --- | ---: |")
    for label, ms in stages(config, data, args.iterations, clock).items():
        print(f"| {label} | {ms:.2f} |")
    print(f"\nPyTorch operator calls per iteration (top level): {pytorch_calls(config, data):.0f}")
    if args.products:
        counts = [1, args.threads] if args.threads > 1 else [1]
        rows = product_scaling(config, data, counts)
        torch.set_num_threads(args.threads)
        header = " | ".join(f"ms, {n} thread(s)" for n in counts)
        print(f"\n| product (per iteration), wall clock | calls | {header} |\n| --- | ---: |" + " ---: |" * len(counts))
        for label, count, times in rows:
            print(f"| {label} | {count} | " + " | ".join(f"{t:.3f}" for t in times) + " |")
        totals = [sum(r[2][i] for r in rows) for i in range(len(counts))]
        print("| **all products** | " + str(sum(r[1] for r in rows)) + " | " + " | ".join(f"**{t:.2f}**" for t in totals) + " |")
    if args.stages_only:
        return 0
    print("\n| element-wise work | ns/element |\n| --- | ---: |")
    for label, ns in elementwise().items():
        print(f"| {label} | {ns:.2f} |")
    print("\n| gradient | fast bf16 vs fp32 | autocast bf16 vs fp32 |\n| --- | ---: | ---: |")
    for name, fast, autocast in bf16_gradient_errors(config, data):
        print(f"| {name} | {fast:.3f} | {autocast:.3f} |")
    print(f"\nCommand: `python {' '.join(sys.argv)}`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
