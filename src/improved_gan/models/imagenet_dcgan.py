"""The plain DCGAN baseline of Section 6.5 at 128x128 (preset ``imagenet128-dcgan``): ours.

The paper compares its ImageNet model with a DCGAN but does not describe that
baseline, and the authors' code does not hold it. We take DCGAN's own settings
(Radford et al. 2016): five 5x5 stride-2 (transposed) convolutions,
:class:`torch.nn.BatchNorm2d` after every layer but G's output and D's input
layer, ReLU in G, leaky ReLU 0.2 in D, weights ``N(0, 0.02^2)``, zero biases, no
bias before a norm, ``z ~ Uniform(-1, 1)^100`` and a single real/fake logit
(``num_classes = 1``; the package's fixed 0 for the "generated" logit makes
``D(x) = sigmoid(logit)``). None of the paper's techniques: no virtual batch
norm, noise channels, input noise, dense or minibatch layer.

D is called on the real and the generated batch separately, as DCGAN's is
(``joint_batch = False``; batch norm still couples the rows of a batch, so
``cross_sample = True``); ``BatchNorm2d`` uses running averages in eval mode.
The authors' networks are :mod:`improved_gan.models.imagenet`.
"""

from __future__ import annotations

from torch import nn

from improved_gan.models.base import Discriminator
from improved_gan.models.imagenet import IMAGENET_IMAGE_SHAPE, SymmetricLatentGenerator

__all__ = ["DCGANDiscriminator128", "DCGANGenerator128"]

_BASE_SIZE = 4  # G starts, and D's convolutions end, at 4 x 4 pixels
_UPSAMPLINGS = 5  # 4 * 2^5 = 128
_KERNEL = 5
_GEOMETRY = {"padding": 2}  # a 5x5 stride-2 conv halves H; its transpose (output_padding=1) doubles it
_INIT_STD = 0.02


def _check_widths(widths: tuple[int, ...], example: str) -> tuple[int, ...]:
    widths = tuple(widths)
    if len(widths) != _UPSAMPLINGS or any(isinstance(w, bool) or not isinstance(w, int) or w < 1 for w in widths):
        raise ValueError(
            f"widths must be {_UPSAMPLINGS} positive channel counts, one per factor of 2 between "
            f"4 and 128 pixels, e.g. {example} (got {widths!r})"
        )
    return widths


def _init_dcgan(module: nn.Module) -> None:
    """Fresh values in every sub-layer, then ``N(0, 0.02^2)`` weights and zero biases in the linear/conv ones."""
    for layer in module.modules():
        if layer is not module and hasattr(layer, "reset_parameters"):
            layer.reset_parameters()
        if isinstance(layer, nn.Linear | nn.Conv2d | nn.ConvTranspose2d):
            nn.init.normal_(layer.weight, mean=0.0, std=_INIT_STD)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)


class DCGANGenerator128(SymmetricLatentGenerator):
    """DCGAN's generator at 128 px: ``z [N, latent_dim] -> images [N, 3, 128, 128]`` in ``(-1, 1)``.

    ``z -> dense 4x4xw0 (no bias) -> BN, ReLU -> `` five 5x5 stride-2 transposed
    convolutions to ``w1 .. w4`` channels (BN, ReLU) and 3 channels (bias, tanh).

    Args:
        latent_dim: size of ``z ~ Uniform(-1, 1)``. Default: 100.
        widths: channels at 4, 8, 16, 32 and 64 pixels. Default: (512, 256, 128, 64, 32).

    Shape:
        - Input: ``[N, latent_dim]``
        - Output: ``[N, 3, 128, 128]``
    """

    image_shape = IMAGENET_IMAGE_SHAPE
    output_range = (-1.0, 1.0)

    def __init__(
        self, *, latent_dim: int = 100, widths: tuple[int, ...] = (512, 256, 128, 64, 32), device=None, dtype=None
    ) -> None:
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        self.latent_dim = latent_dim
        self.widths = _check_widths(widths, "(512, 256, 128, 64, 32)")
        first = self.widths[0]
        layers: list[nn.Module] = [
            nn.Linear(latent_dim, first * _BASE_SIZE * _BASE_SIZE, bias=False, **factory),  # [N, 16 w0]
            nn.Unflatten(1, (first, _BASE_SIZE, _BASE_SIZE)),  # [N, w0, 4, 4]
            nn.BatchNorm2d(first, **factory),
            nn.ReLU(),
        ]
        for in_width, out_width in zip(self.widths, self.widths[1:]):  # H -> 2H
            layers += [
                nn.ConvTranspose2d(in_width, out_width, _KERNEL, stride=2, output_padding=1, bias=False,
                                   **_GEOMETRY, **factory),
                nn.BatchNorm2d(out_width, **factory),
                nn.ReLU(),
            ]
        layers += [
            nn.ConvTranspose2d(self.widths[-1], 3, _KERNEL, stride=2, output_padding=1, **_GEOMETRY, **factory),
            nn.Tanh(),
        ]  # [N, 3, 128, 128]
        self.net = nn.Sequential(*layers)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """``N(0, 0.02^2)`` weights, zero biases, batch norm's ``gamma = 1``, ``beta = 0``."""
        _init_dcgan(self.net)

    def extra_repr(self) -> str:
        return f"latent_dim={self.latent_dim} ~ U(-1, 1), widths={self.widths}, norm='batch', output=tanh in (-1, 1)"


class DCGANDiscriminator128(Discriminator):
    """DCGAN's discriminator at 128 px: ``x [N, 3, 128, 128] ->`` one real/fake logit.

    Five 5x5 stride-2 convolutions (the first with a bias and no norm, the
    others BN without bias), leaky ReLU 0.2, flatten, a biased linear layer to
    ``num_classes`` logits.

    Args:
        num_classes: logits (1 for the baseline's real/fake logit). Default: 1.
        widths: channels of the five convolutions. Default: (64, 128, 256, 512, 1024).

    ``features`` is the flattened last conv map ``[N, 16 widths[-1]]``.

    Shape:
        - Input: ``[N, 3, 128, 128]``
        - Output: ``DiscriminatorOutput(logits [N, num_classes], features [N, 16 widths[-1]])``
    """

    image_shape = IMAGENET_IMAGE_SHAPE
    cross_sample = True  # batch norm couples the rows of a batch in training
    joint_batch = False  # called on the real and the generated batch apart

    def __init__(
        self, *, num_classes: int = 1, widths: tuple[int, ...] = (64, 128, 256, 512, 1024), device=None, dtype=None
    ) -> None:
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        self.widths = _check_widths(widths, "(64, 128, 256, 512, 1024)")
        self.num_classes = num_classes
        trunk: list[nn.Module] = [
            nn.Conv2d(3, self.widths[0], _KERNEL, stride=2, **_GEOMETRY, **factory),  # [N, w0, 64, 64]
            nn.LeakyReLU(0.2),
        ]
        for in_width, out_width in zip(self.widths, self.widths[1:]):  # H -> H/2
            trunk += [
                nn.Conv2d(in_width, out_width, _KERNEL, stride=2, bias=False, **_GEOMETRY, **factory),
                nn.BatchNorm2d(out_width, **factory),
                nn.LeakyReLU(0.2),
            ]
        trunk.append(nn.Flatten())  # [N, 16 w4]
        self.trunk = nn.Sequential(*trunk)
        self.feature_dim = self.widths[-1] * _BASE_SIZE * _BASE_SIZE
        self.head = nn.Sequential(nn.Linear(self.feature_dim, num_classes, **factory))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """``N(0, 0.02^2)`` weights, zero biases, batch norm's ``gamma = 1``, ``beta = 0``."""
        _init_dcgan(self)

    def extra_repr(self) -> str:
        return f"num_classes={self.num_classes}, widths={self.widths}, norm='batch', features={self.feature_dim}"
