"""A small ImageNet-style class folder for tests: CIFAR-10 images resized to 128 px, and tiny imagenet128 widths."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

CIFAR_SHARD = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar10" / "train-00.npz"

TINY_IMAGENET = [
    "--precision", "fp32", "--no-progress", "--device", "cpu", "--batch-size", "4", "--iters-per-epoch", "2",
    "--epochs", "1",
    "--set", "latent_dim=32", "--set", "imagenet_g_widths=8,8,8,8,8", "--set", "imagenet_d_widths=8,8,8,8,8",
    "--set", "imagenet_g_dim=2", "--set", "imagenet_d_dim=2", "--set", "imagenet_tower=2",
    "--set", "imagenet_d_hidden=16", "--set", "minibatch_kernels=4", "--set", "minibatch_kernel_dim=3",
    "--set", "noise_channels=2", "--set", "expected_classes=3", "--set", "data_workers=1",
    "--set", "sample_grid=4", "--set", "epoch_score_every=0", "--set", "final_score_samples=0",
]
"""imagenet128 at narrow widths on a 3-class folder: a real run of every layer, in seconds on a CPU; towers of
2 + 2 rows, so a batch of 4 is two towers (no Inception scores: tests/training/test_imagenet_scores.py turns them
on with a stand-in network). The imagenet_g/d_widths are the imagenet128-dcgan baseline's."""


def make_image_folder(root: Path, *, classes: int = 3, per_class: int = 4) -> Path:
    """``root/class_k/img_i.JPEG``: the first CIFAR-10 training images of classes 0..k-1, resized to 128 x 128."""
    shard = np.load(CIFAR_SHARD)
    for label in range(classes):
        folder = root / f"n0000000{label}"
        folder.mkdir(parents=True)
        for i, index in enumerate(np.flatnonzero(shard["y"] == label)[:per_class]):
            image = Image.fromarray(shard["x"][index]).resize((128, 128), Image.BILINEAR)
            image.save(folder / f"img_{i}.JPEG", quality=90)
    return root
