"""What a scoring network gives, and running one over many images in batches.

A scoring network (the Inception graph, the MNIST classifier) is a frozen
``nn.Module`` whose ``forward`` takes uint8 images ``[N, C, H, W]`` and returns
a :class:`NetworkOutput`: class logits for score-type metrics (Inception score)
and a feature vector for distance-type metrics (Frechet distance).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from improved_gan.metrics.images import check_images
from improved_gan.utils.progress import bars_shown

__all__ = ["NetworkOutput", "run_network"]


class NetworkOutput(NamedTuple):
    """Per-image outputs of a scoring network.

    Shape:
        - logits: ``[N, K]`` class logits (softmax gives p(y|x))
        - features: ``[N, D]`` the feature vector the Frechet distance compares
    """

    logits: Tensor | np.ndarray
    features: Tensor | np.ndarray


@torch.no_grad()
def run_network(
    network: nn.Module,
    images: np.ndarray,
    *,
    batch_size: int = 100,
    device: torch.device | str | None = None,
    progress: bool = False,
    desc: str = "scoring",
) -> NetworkOutput:
    """``network`` over uint8 images ``[N, H, W, C]`` in batches; float32 NumPy outputs.

    The network is used as given (eval mode, no gradients); the result does not
    depend on ``batch_size`` beyond float rounding. TF32 convolutions, which
    PyTorch allows by default on recent GPUs, are switched off for the call, so
    that GPU scores agree with CPU scores to float32 rounding.

    Args:
        network: a scoring network (module docstring).
        images: uint8 ``[N, H, W, C]``.
        batch_size: images per forward pass.
        device: where to compute (default: where ``network``'s parameters are).
        progress: show a progress bar.
        desc: the progress bar's label.
    """
    images = check_images(images)
    if batch_size < 1:
        raise ValueError(f"expected batch_size >= 1 (got {batch_size})")
    if device is None:
        device = next(network.parameters()).device
    network = network.to(device).eval()
    logits, features = [], []
    cudnn = torch.backends.cudnn
    no_tf32 = cudnn.flags(
        enabled=cudnn.enabled, benchmark=cudnn.benchmark, deterministic=cudnn.deterministic, allow_tf32=False
    )
    with no_tf32:
        starts = range(0, len(images), batch_size)
        for start in tqdm(starts, desc=desc, disable=not bars_shown(progress), leave=False):
            batch = torch.from_numpy(np.ascontiguousarray(images[start : start + batch_size]))
            batch = batch.to(device).permute(0, 3, 1, 2)  # [B, C, H, W], still uint8
            output = network(batch)
            logits.append(output.logits.float().cpu().numpy())
            features.append(output.features.float().cpu().numpy())
    return NetworkOutput(logits=np.concatenate(logits), features=np.concatenate(features))
