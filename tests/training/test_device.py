"""Precision resolution: ``auto`` is float32 everywhere (bf16 and TF32 are not shown safe for the GAN game)."""

from __future__ import annotations

import pytest
import torch

from improved_gan.errors import ConfigError
from improved_gan.training import device as device_module
from improved_gan.training.device import (
    BF16_MIN_SPEEDUP,
    bf16_speedup,
    configure_cuda,
    cpu_flags,
    describe_precision,
    resolve_precision,
)

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


@pytest.mark.parametrize(("native", "speedup"), [(False, 10.0), (True, BF16_MIN_SPEEDUP + 3.0), (True, 0.5)])
def test_auto_is_float32_even_where_bf16_is_native_and_pays(monkeypatch, native, speedup):
    monkeypatch.setattr(device_module, "has_native_bf16", lambda device: native)
    monkeypatch.setattr(device_module, "bf16_speedup", lambda device: speedup)
    assert resolve_precision("auto", CPU) == "fp32"
    assert resolve_precision("auto", torch.device("cuda")) == "fp32"  # resolving needs no CUDA device


def test_the_run_says_what_it_computes_in_and_why():
    assert describe_precision("auto", "fp32").startswith("fp32 (auto: bf16 and TF32 products are not shown safe")
    assert describe_precision("bf16", "bf16") == "bf16 (chosen)"
    assert describe_precision("bf16", "bf16", "generator") == (
        "bf16 (chosen, the generator's products only; the discriminator's float32)")
    assert describe_precision("bf16", "bf16", "discriminator") == (
        "bf16 (chosen, the discriminator's products only; the generator's float32)")


def test_float32_on_cuda_is_float32():
    matmul, cudnn = torch.backends.cuda.matmul, torch.backends.cudnn
    before = (matmul.allow_tf32, cudnn.allow_tf32, cudnn.benchmark)  # process-wide switches: restored below
    try:
        matmul.allow_tf32 = cudnn.allow_tf32 = True
        cudnn.benchmark = False
        configure_cuda()
        assert not matmul.allow_tf32 and not cudnn.allow_tf32
        assert cudnn.benchmark
    finally:
        matmul.allow_tf32, cudnn.allow_tf32, cudnn.benchmark = before


def test_the_bf16_warning_says_what_was_measured_for_the_run_s_players():
    from improved_gan.training.device import bf16_warning

    assert "18 of 20 seeds" in bf16_warning("both") and "bf16_players=discriminator: 1 of 20" in bf16_warning("both")
    assert "20 of 20 seeds with the generator's products alone" in bf16_warning("generator")
    assert bf16_warning("discriminator").startswith("precision bf16 for the discriminator's products only")
    assert "failed 1 of 20 seeds by epoch 25, as float32 did" in bf16_warning("discriminator")
