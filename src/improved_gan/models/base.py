"""The contracts every generator and discriminator of the package fulfils."""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["Generator", "Discriminator"]


class Generator(nn.Module):
    """Maps latent vectors ``z ~ U(0, 1)^latent_dim`` to images.

    Subclasses set :attr:`latent_dim`, :attr:`image_shape` and
    :attr:`output_range` and implement ``forward(z [N, latent_dim]) -> [N, C, H, W]``.
    """

    latent_dim: int
    image_shape: tuple[int, int, int]
    output_range: tuple[float, float]

    def sample_latent(self, batch_size: int, *, generator: torch.Generator | None = None) -> Tensor:
        """``[batch_size, latent_dim]`` draws of ``U(0, 1)`` (the reference's prior), on the model's device and dtype."""
        if batch_size < 0:
            raise ValueError(f"batch_size must be >= 0 (got {batch_size})")
        reference = next(self.parameters())
        return torch.rand(
            batch_size, self.latent_dim, generator=generator, device=reference.device, dtype=reference.dtype
        )


class Discriminator(nn.Module):
    """Maps images to a :class:`~improved_gan.models.DiscriminatorOutput`.

    Subclasses set :attr:`num_classes` (``K``, the logit of class ``K + 1`` being
    0), :attr:`image_shape` and :attr:`feature_dim` (``F``).
    """

    num_classes: int
    image_shape: tuple[int, int, int]
    feature_dim: int
