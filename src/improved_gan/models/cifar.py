"""The convolutional models of Sections 6.2-6.3 (CIFAR-10 and SVHN, 32x32 RGB).

As the authors' code ran them (docs/reference.md):

- Generator: ``z ~ U(0,1)^100 -> dense 4x4x512 -> 5x5 stride-2 transposed convs
  to 256 (8x8), 128 (16x16), 3 (32x32) channels``; each hidden layer has no
  bias, then batch norm with batch statistics (no scale, learned bias, eps 1e-6)
  over every unit (the dense layer's 8192 units, the conv layers' channels),
  then ReLU; the output layer is weight-normalised with a trainable scale
  (initialised from data to std 0.1) and a tanh, so pixels lie in ``(-1, 1)``.
  With ``norm="virtual"`` the batch norms become Section 3.5's virtual batch
  norm over a fixed reference batch of latent vectors.
- Discriminator ("feature matching" model): dropout 0.2 on the input, then
  3x3 convs 96, 96, 96 (stride 2), dropout 0.5, 192, 192, 192 (stride 2),
  dropout 0.5, a 3x3 "valid" conv 192, two 1x1 convs 192, global average
  pooling and a dense layer to 10 logits; leaky ReLU (0.2) after every conv,
  weight normalisation everywhere, the scale learned (and initialised from data
  to std 0.1) only in the last layer. SVHN's feature-matching model has widths
  64/128. The minibatch-discrimination model replaces the input dropout with
  Gaussian noise (std 0.2) and puts a minibatch-discrimination layer (B = 100,
  C = 5) between the pooling and the dense layer.

Spatial sizes through the discriminator: 32 -> 32 -> 32 -> 16 -> 16 -> 16 -> 8
-> 6 (valid conv) -> 6 -> 6 -> pool.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from improved_gan.layers import (
    BatchStatisticsNorm,
    GaussianNoise,
    WeightNormConv2d,
    WeightNormConvTranspose2d,
    WeightNormLinear,
)
from improved_gan.models.base import Discriminator, Generator, minibatch_discrimination_layers
from improved_gan.techniques import VirtualBatchNorm, WithReferenceBatch

__all__ = ["CIFAR_IMAGE_SHAPE", "CIFARGenerator", "CIFARDiscriminator"]

CIFAR_IMAGE_SHAPE = (3, 32, 32)
_LEAKY_SLOPE = 0.2
_INIT_STD = 0.05  # N(0, 0.05^2): the reference's initial weights (directions) everywhere


class CIFARGenerator(Generator):
    """The 32x32 RGB generator: ``z [N, 100] -> images [N, 3, 32, 32]`` in ``(-1, 1)``.

    Args:
        latent_dim: size of ``z``. Default: 100.
        norm: ``"batch"`` (the reference: batch statistics, no scale, learned
            bias, eps 1e-6) or ``"virtual"`` (Section 3.5:
            :class:`~improved_gan.techniques.VirtualBatchNorm`, eps 1e-5, learned
            scale and bias, normalising every example with a fixed reference
            batch of latent vectors plus itself). Default: ``"batch"``.
        reference_size: with ``norm="virtual"``, the number of reference latent
            vectors, drawn from ``U(0, 1)`` once at construction (from torch's
            global generator), stored as a buffer and run through the network
            before every batch (each call then costs ``reference_size`` extra
            rows). Default: 100.

    With ``norm="batch"`` each image depends on the other latent vectors of its
    batch, in eval mode too: sample in batches of the training size. With
    ``norm="virtual"`` it depends on its own ``z`` and the reference batch only.

    Shape:
        - Input: ``[N, latent_dim]``
        - Output: ``[N, 3, 32, 32]``

    Example::

        >>> generator = CIFARGenerator()
        >>> generator(generator.sample_latent(100)).shape
        torch.Size([100, 3, 32, 32])
    """

    image_shape = CIFAR_IMAGE_SHAPE
    output_range = (-1.0, 1.0)

    def __init__(
        self,
        *,
        latent_dim: int = 100,
        norm: Literal["batch", "virtual"] = "batch",
        reference_size: int = 100,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        if norm not in ("batch", "virtual"):
            raise ValueError(f"norm must be 'batch' or 'virtual' (got {norm!r})")
        if norm == "virtual" and reference_size < 1:
            raise ValueError(f"reference_size must be >= 1 (got {reference_size})")
        factory = {"device": device, "dtype": dtype}
        self.latent_dim = latent_dim
        self.norm = norm

        def normalise(num_features: int) -> nn.Module:
            if norm == "virtual":
                return VirtualBatchNorm(num_features, reference_size=reference_size, **factory)
            return BatchStatisticsNorm(num_features, eps=1e-6, **factory)

        def upsample(in_channels: int, out_channels: int) -> nn.ConvTranspose2d:
            # 5x5, stride 2, "half" padding: H -> 2H
            return nn.ConvTranspose2d(
                in_channels, out_channels, 5, stride=2, padding=2, output_padding=1, bias=False, **factory
            )

        layers = nn.Sequential(
            nn.Linear(latent_dim, 4 * 4 * 512, bias=False, **factory),  # [N, 8192]
            normalise(4 * 4 * 512),
            nn.ReLU(),
            nn.Unflatten(1, (512, 4, 4)),  # [N, 512, 4, 4]
            upsample(512, 256),  # [N, 256, 8, 8]
            normalise(256),
            nn.ReLU(),
            upsample(256, 128),  # [N, 128, 16, 16]
            normalise(128),
            nn.ReLU(),
            WeightNormConvTranspose2d(  # [N, 3, 32, 32]
                128, 3, 5, stride=2, padding=2, output_padding=1,
                trainable_scale=True, init_scale=0.1, init_std=_INIT_STD, **factory,
            ),
            nn.Tanh(),
        )
        self.net: nn.Module = layers
        if norm == "virtual":  # the reference latents: drawn from the prior once, fixed for good
            self.net = WithReferenceBatch(layers, self.sample_latent(reference_size))
        self.reset_parameters()

    @property
    def reference_size(self) -> int:
        """The number of reference latent vectors (0 with ``norm="batch"``)."""
        return self.net.reference_size if isinstance(self.net, WithReferenceBatch) else 0

    def reset_parameters(self) -> None:
        """``N(0, 0.05^2)`` weights and directions, ``g = 1``, zero biases (the reference's); keeps ``z_ref``."""
        for module in self.net.modules():
            if module is not self.net and hasattr(module, "reset_parameters"):
                module.reset_parameters()
            if isinstance(module, nn.Linear | nn.ConvTranspose2d):
                nn.init.normal_(module.weight, mean=0.0, std=_INIT_STD)

    def extra_repr(self) -> str:
        reference = f", reference_size={self.reference_size}" if self.norm == "virtual" else ""
        return f"latent_dim={self.latent_dim}, norm={self.norm!r}{reference}, output=tanh in (-1, 1)"


class CIFARDiscriminator(Discriminator):
    """The 9-layer convolutional discriminator/classifier for 32x32 RGB images.

    Args:
        widths: channels of the first three and of the remaining convolutions.
            Default: (96, 192) (CIFAR-10); SVHN's feature-matching model uses (64, 128).
        num_classes: ``K``. Default: 10.
        dropout: use the dropout (p = 0.5) after each stride-2 block. Default: True.
        input_dropout: dropout probability on the input; None picks the
            reference's: 0.2 for the feature-matching model (when ``dropout``), 0
            with minibatch discrimination. Default: None.
        input_noise: std of Gaussian noise on the input; None picks the
            reference's: 0.2 with minibatch discrimination, else 0. Default: None.
        minibatch_kernels: B of Section 3.2, a minibatch-discrimination layer after
            the global average pooling, or None/0 for none. Default: None.
        minibatch_kernel_dim: C of Section 3.2. Default: 5.
        minibatch_weight_norm: the authors' minibatch layer, with a weight-normalised
            T and a data-dependent initialisation (:class:`MinibatchDiscrimination`
            with ``weight_norm=True``); False for the paper's plain T. Default: True.

    Every convolution and the dense layer are weight-normalised (directions
    ``N(0, 0.05^2)``); :func:`~improved_gan.layers.init_weight_norm` sets the
    convolutions' frozen scales to unit output std and the last layer's
    learned scale to std 0.1, as in the reference. ``features`` is the global
    average pool's output ``[N, widths[1]]``, the layer the reference's feature
    matching reads (before any minibatch features). Dropout and noise act in
    training mode only.

    Shape:
        - Input: ``[N, 3, 32, 32]``
        - Output: ``DiscriminatorOutput(logits [N, num_classes], features [N, widths[1]])``

    Example::

        >>> discriminator = CIFARDiscriminator()
        >>> out = discriminator(torch.rand(8, 3, 32, 32) * 2 - 1)
        >>> out.logits.shape, out.features.shape
        (torch.Size([8, 10]), torch.Size([8, 192]))
    """

    image_shape = CIFAR_IMAGE_SHAPE

    def __init__(
        self,
        *,
        widths: tuple[int, int] = (96, 192),
        num_classes: int = 10,
        dropout: bool = True,
        input_dropout: float | None = None,
        input_noise: float | None = None,
        minibatch_kernels: int | None = None,
        minibatch_kernel_dim: int = 5,
        minibatch_weight_norm: bool = True,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        if len(widths) != 2:
            raise ValueError(f"widths must be two channel counts, e.g. (96, 192) (got {widths!r})")
        factory = {"device": device, "dtype": dtype}
        narrow, wide = self.widths = tuple(widths)
        with_minibatch = bool(minibatch_kernels)
        self.num_classes = num_classes
        self.feature_dim = wide
        self.dropout = dropout
        self.input_dropout = (0.2 if dropout and not with_minibatch else 0.0) if input_dropout is None else input_dropout
        self.input_noise = (0.2 if with_minibatch else 0.0) if input_noise is None else input_noise

        self.trunk = _discriminator_trunk(
            narrow, wide, input_dropout=self.input_dropout, input_noise=self.input_noise, dropout=dropout, **factory
        )
        minibatch = minibatch_discrimination_layers(
            wide, minibatch_kernels, minibatch_kernel_dim, weight_norm=minibatch_weight_norm, **factory
        )
        self.minibatch_kernels = minibatch[0].num_kernels if minibatch else 0
        self.cross_sample = with_minibatch
        # [N, wide] -> ([N, wide + B]) -> [N, num_classes]
        self.head = nn.Sequential(
            *minibatch,
            WeightNormLinear(
                wide + self.minibatch_kernels, num_classes,
                trainable_scale=True, init_scale=0.1, init_std=_INIT_STD, **factory,
            ),
        )

    def extra_repr(self) -> str:
        return (
            f"widths={self.widths}, num_classes={self.num_classes}, input_dropout={self.input_dropout}, "
            f"input_noise={self.input_noise}, dropout={0.5 if self.dropout else 0.0}, "
            f"minibatch_kernels={self.minibatch_kernels}, features={self.feature_dim}"
        )


def _discriminator_trunk(
    narrow: int,
    wide: int,
    *,
    input_dropout: float,
    input_noise: float,
    dropout: bool,
    device=None,
    dtype=None,
) -> nn.Sequential:
    """The discriminator up to its features: input dropout or noise, nine convolutions, global average pooling.

    Shape:
        - Input: ``[N, 3, 32, 32]``
        - Output: ``[N, wide]``
    """
    factory = {"device": device, "dtype": dtype}

    def conv(in_channels: int, out_channels: int, kernel_size: int = 3, **geometry) -> list[nn.Module]:
        return [
            WeightNormConv2d(in_channels, out_channels, kernel_size, init_std=_INIT_STD, **geometry, **factory),
            nn.LeakyReLU(_LEAKY_SLOPE),
        ]

    def block_dropout() -> list[nn.Module]:
        return [nn.Dropout(0.5)] if dropout else []

    trunk: list[nn.Module] = []
    if input_dropout:
        trunk.append(nn.Dropout(input_dropout))
    if input_noise:
        trunk.append(GaussianNoise(input_noise))
    trunk += [
        *conv(3, narrow, padding=1),  # [N, narrow, 32, 32]
        *conv(narrow, narrow, padding=1),
        *conv(narrow, narrow, stride=2, padding=1),  # [N, narrow, 16, 16]
        *block_dropout(),
        *conv(narrow, wide, padding=1),
        *conv(wide, wide, padding=1),
        *conv(wide, wide, stride=2, padding=1),  # [N, wide, 8, 8]
        *block_dropout(),
        *conv(wide, wide),  # valid: [N, wide, 6, 6]
        *conv(wide, wide, 1),  # network-in-network 1x1
        *conv(wide, wide, 1),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),  # [N, wide]: the features
    ]
    return nn.Sequential(*trunk)
