"""Precision resolution: ``auto`` is bf16 only where native and measured to pay."""

from __future__ import annotations

import pytest
import torch

from improved_gan.errors import ConfigError
from improved_gan.training import device as device_module
from improved_gan.training.device import BF16_MIN_SPEEDUP, bf16_speedup, cpu_flags, resolve_precision

CPU = torch.device("cpu")


def test_cpu_flags_reads_x86_and_arm_cpuinfo():
    x86 = "processor\t: 0\nflags\t\t: fpu avx512f avx512_bf16\nbugs\t: none\n\nprocessor\t: 1\nflags\t: fpu\n"
    arm = "processor\t: 0\nFeatures\t: fp asimd bf16 i8mm\nCPU implementer\t: 0x41\n"
    assert cpu_flags(x86) == {"fpu", "avx512f", "avx512_bf16"}
    assert "bf16" in cpu_flags(arm)
    assert cpu_flags("model name\t: something\n") == set()


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_explicit_precisions_are_kept(precision):
    assert resolve_precision(precision, CPU) == precision


def test_unknown_precision_is_a_config_error():
    with pytest.raises(ConfigError, match="auto, fp32 or bf16"):
        resolve_precision("fp16", CPU)


@pytest.mark.parametrize(
    ("native", "speedup", "expected"),
    [(False, 10.0, "fp32"), (True, BF16_MIN_SPEEDUP + 0.5, "bf16"), (True, BF16_MIN_SPEEDUP - 0.2, "fp32")],
)
def test_auto_needs_native_bf16_and_a_measured_gain(monkeypatch, native, speedup, expected):
    monkeypatch.setattr(device_module, "has_native_bf16", lambda device: native)
    monkeypatch.setattr(device_module, "bf16_speedup", lambda device: speedup)
    assert resolve_precision("auto", CPU) == expected


def test_bf16_speedup_is_measured_and_cached():
    first = bf16_speedup(CPU)
    assert first > 0
    assert bf16_speedup(CPU) == first
