"""Test error of a discriminator used as a K-class classifier (Section 5)."""

from __future__ import annotations

import torch
from torch import Tensor, nn


@torch.no_grad()
def count_errors(classifier: nn.Module, images: Tensor, labels: Tensor, *, batch_size: int = 1000) -> int:
    """Misclassified examples among ``images [N, C, H, W]`` with ``labels [N]``.

    The classifier runs in eval mode (no noise, no dropout); its mode is restored.
    """
    was_training = classifier.training
    classifier.eval()
    try:
        errors = torch.zeros((), dtype=torch.long, device=images.device)
        for start in range(0, len(images), batch_size):
            logits = classifier(images[start : start + batch_size]).logits
            errors += (logits.argmax(1) != labels[start : start + batch_size]).sum()
        return int(errors)
    finally:
        classifier.train(was_training)
