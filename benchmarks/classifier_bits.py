"""Why the MNIST classifier's weights differ between machines: the kernels a CPU selects.

``improved-gan classifier train`` is deterministic on one machine (one thread,
a private RNG), yet a classifier trained elsewhere has another sha256. This
script trains a short version of the same recipe (one epoch over the first
2,560 training digits) in fresh processes that differ only in which CPU
kernels PyTorch may use, and prints each digest:

- ``ATEN_CPU_CAPABILITY`` caps ATen's vectorised kernels (default / avx2 /
  avx512, as far as the CPU has them);
- ``ONEDNN_MAX_CPU_ISA`` caps oneDNN's convolution kernels;
- ``torch.backends.mkldnn.enabled = False`` replaces oneDNN's convolutions by
  ATen's own.

Two processes with the same selection must agree bit for bit; a different
selection is expected to change the bits (other summation orders round
differently). Run::

    python benchmarks/classifier_bits.py --data-dir ../shared/data

The result on the development machines is in docs/metrics.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

_PROBE = """
import sys, torch
torch.backends.mkldnn.enabled = {mkldnn}
from improved_gan.data import load_dataset
from improved_gan.metrics.classifier import TrainingOptions, train_classifier, weights_digest
train = load_dataset("mnist", root=sys.argv[1], split="train")
model = train_classifier(train.images[:2560], train.labels[:2560], options=TrainingOptions(epochs=1), progress=False)
print(torch.backends.cpu.get_cpu_capability(), weights_digest(model)[:16])
"""

SELECTIONS = [
    ("as this CPU chooses", {}, True),
    ("as this CPU chooses, again", {}, True),
    ("ATen without vector kernels", {"ATEN_CPU_CAPABILITY": "default"}, True),
    ("ATen capped at AVX2", {"ATEN_CPU_CAPABILITY": "avx2"}, True),
    ("oneDNN capped at SSE4.1", {"ONEDNN_MAX_CPU_ISA": "SSE41"}, True),
    ("no oneDNN convolutions", {}, False),
]


def _cpu_flags() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            flags = next(line for line in f if line.startswith("flags")).split()
    except (OSError, StopIteration):
        return "unknown"
    wanted = [f for f in flags if f.startswith(("avx512", "amx")) or f in ("avx2", "fma")]
    return " ".join(sorted(set(wanted))) or "none of avx2/avx512/amx"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", required=True, help="folder holding mnist/")
    parser.add_argument("--only", type=int, default=len(SELECTIONS), help="run the first N selections")
    args = parser.parse_args()
    print(f"CPU flags: {_cpu_flags()}")
    print(f"{'kernels':32s} {'capability':10s} digest (first 16 hex digits)")
    for label, env, mkldnn in SELECTIONS[: args.only]:
        out = subprocess.run(
            [sys.executable, "-c", _PROBE.format(mkldnn=mkldnn), args.data_dir],
            env={**os.environ, **env}, capture_output=True, text=True, check=True,
        )  # fmt: skip
        capability, digest = out.stdout.split()
        print(f"{label:32s} {capability:10s} {digest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
