"""Measure peak memory and time of minibatch features: this library vs plain torch.cdist vs broadcasting.

Usage (needs a CUDA device): ``python docs/techniques/measure_minibatch_features.py``.
Prints the Markdown table quoted in docs/techniques/minibatch_discrimination.md.
"""

from __future__ import annotations

import statistics
import time

import torch

from improved_gan.techniques import minibatch_features


def broadcast_features(m: torch.Tensor) -> torch.Tensor:
    """The naive form: materialise every pairwise difference, [n, n, B, C]."""
    distances = (m[:, None] - m[None]).abs().sum(-1)  # [n, n, B]
    self_pairs = torch.eye(m.size(0), dtype=torch.bool, device=m.device)[..., None]
    return torch.exp(-distances).masked_fill(self_pairs, 0.0).sum(1)  # [n, B]


def cdist_features(m: torch.Tensor) -> torch.Tensor:
    """torch.cdist with its own autograd backward, [B, n, n] forward."""
    distances = torch.cdist(m.transpose(0, 1), m.transpose(0, 1), p=1)  # [B, n, n]
    self_pairs = torch.eye(m.size(0), dtype=torch.bool, device=m.device)
    return torch.exp(-distances).masked_fill(self_pairs, 0.0).sum(2).transpose(0, 1)  # [n, B]


def measure(fn, n: int, kernels: int, dim: int) -> tuple[float, float]:
    """(peak MiB above the input, median milliseconds) of forward + backward."""
    m = torch.randn(n, kernels, dim, device="cuda", requires_grad=True)
    fn(m).sum().backward()  # warm-up
    m.grad = None
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    baseline = torch.cuda.memory_allocated()
    fn(m).sum().backward()
    torch.cuda.synchronize()
    peak = (torch.cuda.max_memory_allocated() - baseline) / 2**20
    times = []
    for _ in range(20):
        m.grad = None
        torch.cuda.synchronize()
        start = time.perf_counter()
        fn(m).sum().backward()
        torch.cuda.synchronize()
        times.append((time.perf_counter() - start) * 1e3)
    return peak, statistics.median(times)


def main() -> None:
    print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}")
    print("| n | B | C | this library: peak MiB, ms | torch.cdist: peak MiB, ms | broadcast: peak MiB, ms |")
    print("|---|---|---|---|---|---|")
    for n, kernels, dim in [(100, 100, 5), (64, 300, 50), (500, 100, 5), (256, 300, 50), (1000, 100, 5)]:
        cells = []
        for fn in (minibatch_features, cdist_features, broadcast_features):
            try:
                peak, milliseconds = measure(fn, n, kernels, dim)
                cells.append(f"{peak:.0f}, {milliseconds:.2f}")
            except torch.OutOfMemoryError:
                cells.append("out of memory")
            torch.cuda.empty_cache()
        print(f"| {n} | {kernels} | {dim} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
