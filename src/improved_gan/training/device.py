"""Where and in which precision a run computes.

``precision="auto"`` is float32, on every device: bf16 products are not
safe for the K+1 GAN's game. With them the discriminator of the demo's
setting (``mnist-fm-paper`` on mnist5k) overpowered its generator in 18 of 20
seeds by epoch 25 on an AVX-512 host with native bf16, against 1 of 20 in
float32 on the same seeds (Fisher p = 6e-8), and with D's input noise 0.5 in
2 of 20 against 0 of 20 (docs/stability.md, study 6); the seed studies there
say which settings were measured safe. On CUDA float32 means float32: TF32 (10-bit mantissas in the matrix
products) stays off, for the same reason (:func:`configure_cuda`).

``precision="bf16"`` is still there for who chooses it (the fast step runs
it about 1.7x faster where bf16 is native, docs/speed.md); the run says at
its start that bf16 is not shown safe. Where it runs, master weights,
optimiser state, element-wise work and loss reductions stay float32: bf16 is
the products' operand precision only (autocast in the reference step,
explicit copies in the fast step). ``bf16_players`` (``both``, ``generator``,
``discriminator``) keeps one player's products in float32 under a bf16 step
(the reference step only): study 8 found the generator's bf16 products to be
what breaks the game (20 of 20 seeds failed with G alone in bf16, 1 of 20 with
D alone, as in float32). :func:`has_native_bf16` and
:func:`bf16_speedup` tell whether bf16 would pay on this machine (the
benchmarks use them).
"""

from __future__ import annotations

import functools
import time
from pathlib import Path

import torch

from improved_gan.config import device_problem
from improved_gan.errors import ConfigError

BF16_MIN_SPEEDUP = 1.3
# the MNIST discriminator's first layer on a step's 300 rows: m x k times k x n
_PROBE_SHAPE = (300, 784, 1000)


def resolve_device(name: str | None) -> torch.device:
    """``name`` (None: auto) as a device this machine has, or ConfigError saying which ones it has.

    The one check of a device against the machine, made by every command that takes ``--device`` (and by the
    trainer for ``config.json``'s) before it writes anything: the name must be one a run takes
    (:func:`improved_gan.config.device_problem`: auto, cpu, cuda, cuda:N), and a CUDA device must be here.
    """
    if name is None or name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    problem = device_problem(name)
    if problem is not None:
        raise ConfigError(f"{problem}; this machine has {available_devices()}")
    device = torch.device(name)
    count = torch.cuda.device_count() if device.type == "cuda" and torch.cuda.is_available() else 0
    if device.type == "cuda" and (count == 0 or (device.index or 0) >= count):
        raise ConfigError(f"device {name!r} is not on this machine, which has {available_devices()}; "
                          f"{'choose one of those' if count else 'use cpu (--device cpu)'}")
    return device


def available_devices() -> str:
    """The devices this machine has, in words: ``cpu only (no CUDA device)``, ``cpu and cuda:0 to cuda:3``."""
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count == 0:
        return "cpu only (no CUDA device)"
    return f"cpu and cuda:0{f' to cuda:{count - 1}' if count > 1 else ''}"


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


PRECISIONS = ("fp32", "bf16")
AUTO_REASON = "auto: bf16 and TF32 products are not shown safe for the GAN game (docs/stability.md)"
def bf16_warning(players: str = "both") -> str:
    """What a run in bf16 says at its start: what the seed studies measured for its setting (docs/stability.md,
    studies 6 and 8, the demo's setting on a host with native bf16); ``players``: the config's ``bf16_players``."""
    if players == "discriminator":
        return ("precision bf16 for the discriminator's products only: in the demo's setting this failed 1 of 20 seeds "
                "by epoch 25, as float32 did, on a CPU with native bf16 (docs/stability.md, study 8); one look on one "
                "host, not shown safe elsewhere; the run reports a failure if it happens")
    measured = ("20 of 20 seeds with the generator's products alone in bf16" if players == "generator"
                else "18 of 20 seeds")
    return (f"precision bf16: the K+1 GAN's discriminator overpowered its generator in {measured} of the demo's "
            "setting by epoch 25, 1 of 20 in fp32, on a CPU with native bf16 (docs/stability.md, studies 6 and 8); the "
            "generator's bf16 products are what break it (--set bf16_players=discriminator: 1 of 20); the run reports "
            "a failure if it happens")


def resolve_precision(precision: str, device: torch.device) -> str:
    """``auto`` -> ``fp32`` on every device (module docstring); ``fp32`` and ``bf16`` as given."""
    if precision == "auto":
        return "fp32"
    if precision not in PRECISIONS:
        raise ConfigError(f"unknown precision {precision!r}; use auto, fp32 or bf16")
    return precision


def describe_precision(precision: str, resolved: str, players: str = "both") -> str:
    """What the run computes in and why, for its first log line: ``fp32 (auto: ...)``, ``bf16 (chosen)``,
    ``bf16 (chosen, the generator's products only; the discriminator's float32)`` (``players``: the config's
    ``bf16_players``)."""
    if precision == "auto":
        return f"{resolved} ({AUTO_REASON})"
    if resolved == "bf16" and players != "both":
        other = "discriminator" if players == "generator" else "generator"
        return f"{resolved} (chosen, the {players}'s products only; the {other}'s float32)"
    return f"{resolved} (chosen)"


def configure_cuda() -> None:
    """On CUDA: cuDNN autotuning, and float32 that is float32 (no TF32 in matrix products or convolutions).
    Process-wide switches, set once by the trainer, which owns the process."""
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False


def compute_dtype(precision: str) -> torch.dtype:
    """The matrix products' dtype of a resolved precision: ``fp32`` -> float32, ``bf16`` -> bfloat16."""
    dtypes = {"fp32": torch.float32, "bf16": torch.bfloat16}
    if precision not in dtypes:
        raise ConfigError(f"unknown precision {precision!r}; use fp32 or bf16 (auto is resolved first)")
    return dtypes[precision]
