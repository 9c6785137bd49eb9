"""Where and in which precision a run computes.

``precision="auto"`` picks bfloat16 autocast only where the processor computes it
natively: CUDA devices that support bf16, and x86 CPUs with AVX-512 BF16 or AMX
(``/proc/cpuinfo`` flags ``avx512_bf16`` / ``amx_bf16``). Elsewhere bf16 would be
emulated and slower, so ``auto`` means fp32 there. Master weights, optimiser
state and loss reductions stay float32 in every case.
"""

from __future__ import annotations

import contextlib
import functools
from pathlib import Path
from typing import Callable, ContextManager

import torch

from improved_gan.errors import ConfigError


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


@functools.lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    """True when /proc/cpuinfo lists AVX-512 BF16 or AMX-BF16."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    flags = set()
    for line in text.splitlines():
        if line.startswith("flags"):
            flags.update(line.split(":", 1)[1].split())
            break
    return bool({"avx512_bf16", "amx_bf16"} & flags)


def resolve_precision(precision: str, device: torch.device) -> str:
    """``auto`` -> ``bf16`` where native (see module docstring), else ``fp32``."""
    if precision == "auto":
        if device.type == "cuda":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
        return "bf16" if cpu_has_native_bf16() else "fp32"
    if precision not in ("fp32", "bf16"):
        raise ConfigError(f"unknown precision {precision!r}; use auto, fp32 or bf16")
    return precision


def autocast_factory(precision: str, device: torch.device) -> Callable[[], ContextManager]:
    """A zero-argument factory of the autocast context for ``precision`` on ``device``."""
    if precision == "bf16":
        return functools.partial(torch.autocast, device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext
