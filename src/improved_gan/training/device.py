"""Where and in which precision a run computes.

``precision="auto"`` picks bfloat16 only where it is both native and measured
to pay:

1. native: a CUDA device that supports bf16, or a CPU whose flags list
   AVX-512 BF16 or AMX-BF16 (x86, ``/proc/cpuinfo`` ``flags``) or BF16 (Arm,
   ``Features``). Elsewhere bf16 products are emulated and slower.
2. measured: bf16 matrix products of the MNIST discriminator's largest shape
   (``[300, 784] x [784, 1000]``, the product that dominates a step) run at
   least :data:`BF16_MIN_SPEEDUP` times faster than float32 ones on this
   device, timed once per process (about 0.1 s; :func:`bf16_speedup`). A CPU
   may list the flags and still gain little (a narrow or shared BF16 unit), and
   the trade (bf16 rounding of the products' operands) is worth making only
   for a real gain. On the 2-core AMD EPYC (Zen 5) this project was developed
   on, the measured gain is about 4x (docs/speed.md).

Master weights, optimiser state, element-wise work and loss reductions stay
float32 in every case: bf16 is the products' operand precision only (autocast
in the reference step, explicit copies in the fast step).
"""

from __future__ import annotations

import functools
import time
from pathlib import Path

import torch

from improved_gan.errors import ConfigError

BF16_MIN_SPEEDUP = 1.3
# the MNIST discriminator's first layer on a step's 300 rows: m x k times k x n
_PROBE_SHAPE = (300, 784, 1000)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} requested but CUDA is not available; use --device cpu")
    return device


def cpu_flags(cpuinfo: str) -> set[str]:
    """The first processor's feature flags in ``/proc/cpuinfo`` text (x86 ``flags``, Arm ``Features``)."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return set(value.split())
    return set()


@functools.lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    """True when this CPU computes bf16 products natively (AVX-512 BF16, AMX-BF16 or Arm BF16)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return bool({"avx512_bf16", "amx_bf16", "bf16"} & cpu_flags(text))


def has_native_bf16(device: torch.device) -> bool:
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and cpu_has_native_bf16()


def _time_products(a: torch.Tensor, b: torch.Tensor, repeats: int) -> float:
    """The fastest of ``repeats`` timings of ``a @ b`` (seconds), after a warm-up."""
    synchronize = torch.cuda.synchronize if a.device.type == "cuda" else (lambda: None)
    a @ b
    synchronize()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        synchronize()
        best = min(best, time.perf_counter() - start)
    return best


@functools.lru_cache(maxsize=None)
def bf16_speedup(device: torch.device, repeats: int = 5) -> float:
    """float32 time / bf16 time of one ``[300, 784] x [784, 1000]`` product on ``device``.

    The fastest of ``repeats`` timings of each, interleaved, so that a machine
    shared with other processes rarely skews the ratio. Cached per process.
    """
    m, k, n = _PROBE_SHAPE
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(m, k, generator=generator).to(device)
    b = torch.randn(k, n, generator=generator).to(device)
    a16, b16 = a.bfloat16(), b.bfloat16()
    fp32 = bf16 = float("inf")
    for _ in range(2):
        fp32 = min(fp32, _time_products(a, b, repeats))
        bf16 = min(bf16, _time_products(a16, b16, repeats))
    return fp32 / bf16


def resolve_precision(precision: str, device: torch.device) -> str:
    """``auto`` -> ``bf16`` where native and measured to pay (module docstring), else ``fp32``."""
    if precision == "auto":
        pays = has_native_bf16(device) and bf16_speedup(device) >= BF16_MIN_SPEEDUP
        return "bf16" if pays else "fp32"
    if precision not in ("fp32", "bf16"):
        raise ConfigError(f"unknown precision {precision!r}; use auto, fp32 or bf16")
    return precision


def compute_dtype(precision: str) -> torch.dtype:
    """The matrix products' dtype of a resolved precision: ``fp32`` -> float32, ``bf16`` -> bfloat16."""
    dtypes = {"fp32": torch.float32, "bf16": torch.bfloat16}
    if precision not in dtypes:
        raise ConfigError(f"unknown precision {precision!r}; use fp32 or bf16 (auto is resolved first)")
    return dtypes[precision]
