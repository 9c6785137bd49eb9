"""The contracts every generator and discriminator of the package fulfils."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from improved_gan.models.outputs import DiscriminatorOutput
from improved_gan.models.shapes import check_images, check_latent
from improved_gan.techniques import MinibatchDiscrimination

__all__ = ["Generator", "Discriminator", "minibatch_discrimination_layers"]


class Generator(nn.Module):
    """Maps latent vectors ``z ~ U(0, 1)^latent_dim`` to images in ``output_range``.

    Subclasses set :attr:`latent_dim`, :attr:`image_shape` and
    :attr:`output_range` and build ``net``, the module from ``z [N, latent_dim]``
    to images ``[N, C, H, W]``.
    """

    latent_dim: int
    image_shape: tuple[int, int, int]
    output_range: tuple[float, float]
    net: nn.Module

    def forward(self, z: Tensor) -> Tensor:
        check_latent(z, self.latent_dim, type(self).__name__)
        return self.net(z)

    def sample_latent(
        self, batch_size: int, *, generator: torch.Generator | None = None, device: torch.device | None = None
    ) -> Tensor:
        """``[batch_size, latent_dim]`` draws of the latent prior ``U(0, 1)`` (the authors' MNIST, CIFAR-10
        and SVHN prior), on the model's device and dtype: the one place the package draws z.

        Without ``generator`` the draws come from PyTorch's global generator of the
        model's device (the training's stream). With one, they are drawn on the
        generator's own device and then moved, so a seeded CPU generator gives the
        same z whatever device the model is on. A model with another prior
        overrides this method. ``device`` places the draws elsewhere than the model
        (a storage-free template on the ``meta`` device samples for its copies).
        """
        if batch_size < 0:
            raise ValueError(f"batch_size must be >= 0 (got {batch_size})")
        reference = next(self.parameters())
        target = reference.device if device is None else torch.device(device)
        draw_on = target if generator is None else generator.device
        z = torch.rand(batch_size, self.latent_dim, generator=generator, device=draw_on, dtype=reference.dtype)
        return z.to(target)


class Discriminator(nn.Module):
    """Maps images to a :class:`~improved_gan.models.DiscriminatorOutput`.

    Subclasses set :attr:`num_classes` (``K``, the logit of class ``K + 1`` being
    0), :attr:`image_shape`, :attr:`feature_dim` (``F``) and :attr:`cross_sample`,
    and build two modules: ``trunk``, images ``[N, C, H, W]`` to the features
    ``[N, F]``, and ``head``, features to logits ``[N, K]``.

    Attributes:
        cross_sample: True when an example's output depends on the other examples
            of its batch (minibatch discrimination): then real and generated
            batches must go through the discriminator separately, never
            concatenated (Section 3.2). False: any concatenation of batches gives
            each row the output it would get alone.
    """

    num_classes: int
    image_shape: tuple[int, int, int]
    feature_dim: int
    cross_sample: bool = False
    trunk: nn.Module
    head: nn.Module
    # accept [N, C*H*W] rows too (the permutation-invariant MNIST model)
    _accepts_flat_images: bool = False

    def forward(self, x: Tensor) -> DiscriminatorOutput:
        check_images(x, self.image_shape, type(self).__name__, allow_flat=self._accepts_flat_images)
        features = self.trunk(x)  # [N, F]
        return DiscriminatorOutput(logits=self.head(features), features=features)

    def reset_parameters(self) -> None:
        """Fresh initial values in every layer; run :func:`~improved_gan.layers.init_weight_norm` again after."""
        for module in self.modules():
            if module is not self and hasattr(module, "reset_parameters"):
                module.reset_parameters()


def minibatch_discrimination_layers(
    in_features: int, num_kernels: int | None, kernel_dim: int, *, weight_norm: bool = True, device=None, dtype=None
) -> list[nn.Module]:
    """``[MinibatchDiscrimination(in_features, num_kernels, kernel_dim, weight_norm=...)]``, or ``[]``
    when ``num_kernels`` is None or 0. ``weight_norm=True`` is the authors' layer (weight-normalised T,
    data-dependent initialisation), which all their minibatch models use."""
    if not num_kernels:
        return []
    if num_kernels < 0:
        raise ValueError(f"minibatch_kernels must be a positive number, or None/0 for none (got {num_kernels})")
    factory = {"device": device, "dtype": dtype}
    return [MinibatchDiscrimination(in_features, num_kernels, kernel_dim, weight_norm=weight_norm, **factory)]
