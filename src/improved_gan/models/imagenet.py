"""The authors' ImageNet 128x128 networks of Section 6.5 (preset ``imagenet128``).

Layer for layer what the authors' TensorFlow code builds (its ``imagenet/``
folder: ``generator.py``, ``discriminator.py``, ``ops.py``; docs/imagenet.md
has the tables and the few places where we differ on purpose). Their two width
knobs are ``gf_dim = df_dim = 64``; every width below is a multiple of them.

- Generator, :class:`ImageNetGenerator`: ``z ~ Uniform(-1, 1)^8192``; a biased
  linear layer to ``4 x 4 x 8g``; five 5x5 stride-2 transposed convolutions to
  ``4g, 2g, g, g, g`` channels at 8, 16, 32, 64, 128 pixels; a 5x5 stride-1
  transposed convolution to 3 channels and tanh. Every layer but the last is
  followed by virtual batch norm (Section 3.5,
  :class:`~improved_gan.techniques.VirtualBatchNorm`, reference batch of 16),
  ReLU, and ``g, g, g/2, g/4, g/8, g/8`` channels of ``Uniform(-1, 1)`` noise
  (:class:`~improved_gan.layers.NoiseChannels`): 64, 64, 32, 16, 8, 8. The
  reference batch's ``z`` and its noise channels are drawn once and kept
  (buffers). Biases everywhere; weights ``N(0, 0.02^2)``, biases 0, except the
  output layer: weights ``N(0, 0.075^2)``, bias ``-0.45``.
- Discriminator, :class:`ImageNetDiscriminator`: Gaussian noise (std 0.1) on
  the input; seven 3x3 convolutions with biases, strides 2, 2, 2, 1, 1, 2, 2,
  channels ``d, 2d, 4d, 4d, 4d, 8d, 8d`` (128 -> 4 pixels), each followed by
  cross batch norm (:class:`~improved_gan.layers.CrossBatchNorm`) and leaky
  ReLU 0.2; flatten; a biased dense layer to ``40 d = 2560`` units, cross batch
  norm, leaky ReLU (the ``features``); joint minibatch features from a biased
  linear layer to 300 x 50
  (:class:`~improved_gan.techniques.JointMinibatchDiscrimination`); a biased
  linear layer to 1001 logits. Convolution weights truncated normal (std 0.02,
  cut at two standard deviations, TensorFlow's ``truncated_normal``), linear
  weights ``N(0, 0.02^2)``, biases 0, norms' ``gamma ~ N(1, 0.02^2)``.

**Logits.** Every discriminator of the package returns ``K`` logits with the
logit of the "generated" class fixed at 0 (Section 5). The authors' model has
``K + 1 = 1001`` free logits ``l``; it returns ``l[:, :K] - l[:, K:]``, whose
``LSE`` is the authors' GAN logit ``LSE(l[:, :K]) - l[:, K]``, so ``D(x) =
sigmoid(LSE(logits))`` as for the other models. The authors' class loss is the
softmax cross-entropy over all ``K + 1`` logits: over the returned logits with
a 0 appended (:func:`class_loss_over_all_logits`), not over the ``K`` alone.

**The joint batch and its towers.** The cross batch norm and the minibatch
features compare each row with both halves of ``[real; generated]``. The
authors ran four GPU towers of 16 real + 16 generated rows, each normalised
and compared within itself; ``tower_size = 16`` reproduces that grouping in
any process: a process given ``n`` real rows (``n`` a multiple of 16) groups
real rows ``16t .. 16t + 15`` with generated rows ``n + 16t ..`` as tower
``t``. So one process at batch 64 computes what the four towers did, and
four processes at 16 each do too. The call contract, stated every time:
``discriminator(torch.cat([real, generated]), num_real=len(real))`` with two
equal halves that divide into towers; anything else raises ``ValueError``.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from improved_gan.layers import CrossBatchNorm, GaussianNoise, NoiseChannels
from improved_gan.models.base import Discriminator, Generator
from improved_gan.models.outputs import DiscriminatorOutput
from improved_gan.techniques import JointMinibatchDiscrimination, VirtualBatchNorm, WithReferenceBatch

__all__ = [
    "IMAGENET_IMAGE_SHAPE", "ImageNetDiscriminator", "ImageNetGenerator", "SymmetricLatentGenerator",
    "class_loss_over_all_logits", "discriminator_layout", "generator_layout",
]

IMAGENET_IMAGE_SHAPE = (3, 128, 128)
_BASE_SIZE = 4  # G starts, and D's convolutions end, at 4 x 4 pixels
_LEAKY_SLOPE = 0.2
_INIT_STD = 0.02  # the authors' linear, conv2d and deconv2d default
_OUTPUT_INIT_STD = 0.075  # the authors' out_stddev
_OUTPUT_INIT_BIAS = -0.45  # the authors' out_init_b


def generator_layout(gf_dim: int = 64, noise_channels: int | None = None) -> list[tuple[int, int, int]]:
    """``(channels, noise channels, pixels)`` after each hidden layer of the authors' generator.

    Channels ``8g, 4g, 2g, g, g, g`` at 4, 8, ..., 128 pixels; noise channels
    ``n, n, n/2, n/4, n/8, n/8`` (at least 1) with ``n = noise_channels``
    (the authors': ``n = g``), or none when ``noise_channels = 0``.
    """
    n = gf_dim if noise_channels is None else noise_channels
    widths = (8 * gf_dim, 4 * gf_dim, 2 * gf_dim, gf_dim, gf_dim, gf_dim)
    noise = [max(1, n // k) if n else 0 for k in (1, 1, 2, 4, 8, 8)]
    return [(w, k, _BASE_SIZE * 2**i) for i, (w, k) in enumerate(zip(widths, noise))]


def discriminator_layout(df_dim: int = 64) -> list[tuple[int, int]]:
    """``(channels, stride)`` of the authors' seven 3x3 convolutions: ``d, 2d, 4d, 4d, 4d, 8d, 8d``."""
    widths = (df_dim, 2 * df_dim, 4 * df_dim, 4 * df_dim, 4 * df_dim, 8 * df_dim, 8 * df_dim)
    return list(zip(widths, (2, 2, 2, 1, 1, 2, 2)))


def class_loss_over_all_logits(logits: Tensor, labels: Tensor) -> Tensor:
    r"""The authors' class loss: softmax cross-entropy of ``labels`` over all ``K + 1`` logits, batch mean.

    ``logits`` are the package's ``[N, K]``, relative to the generated class's
    (whose logit is therefore 0): ``-l_y + \log(1 + \sum_k e^{l_k})``. It
    exceeds the cross-entropy over the ``K`` logits alone by
    ``softplus(-LSE(logits))``. Shape: ``[N, K], [N] -> []``.
    """
    padded = torch.cat([logits, logits.new_zeros(len(logits), 1)], dim=1)  # [N, K + 1]
    return F.cross_entropy(padded, labels)


def _check_dim(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer (got {value!r})")
    return value


class SymmetricLatentGenerator(Generator):
    """A generator whose prior is ``Uniform(-1, 1)`` (the authors' ImageNet prior) instead of ``U(0, 1)``."""

    def sample_latent(
        self, batch_size: int, *, generator: torch.Generator | None = None, device: torch.device | None = None
    ) -> Tensor:
        """``[batch_size, latent_dim]`` draws of ``Uniform(-1, 1)``."""
        return super().sample_latent(batch_size, generator=generator, device=device) * 2 - 1


class ImageNetGenerator(SymmetricLatentGenerator):
    """The authors' 128x128 generator: ``z [N, latent_dim] -> images [N, 3, 128, 128]`` in ``(-1, 1)``.

    Args:
        latent_dim: size of ``z ~ Uniform(-1, 1)``. Default: 8192.
        gf_dim: the authors' width knob ``g`` (module docstring). Default: 64.
        noise_channels: noise channels after the first layer, ``n`` (then ``n, n/2, n/4,
            n/8, n/8``); 0 for none. Default: None, the authors' ``n = g``.
        norm: ``"virtual"`` (the authors') or ``"batch"`` (:class:`torch.nn.BatchNorm2d`,
            no reference batch; an ablation). Default: ``"virtual"``.
        reference_size: rows of the fixed reference batch (the authors' per-tower
            batch, 16), drawn once at construction from torch's global generator:
            their ``z`` (buffer ``net.reference_input``) and their noise channels
            (buffers ``reference_noise`` of each :class:`NoiseChannels`). Default: 16.

    Each call runs the ``reference_size`` reference rows in front of the batch
    (:class:`~improved_gan.techniques.WithReferenceBatch`), so an image depends on
    its own ``z``, its own noise channels and the fixed reference batch only. The
    noise channels are drawn in eval mode too: they are generator input.

    Shape:
        - Input: ``[N, latent_dim]``
        - Output: ``[N, 3, 128, 128]``

    Example::

        >>> generator = ImageNetGenerator(gf_dim=4)
        >>> generator(generator.sample_latent(2)).shape
        torch.Size([2, 3, 128, 128])
    """

    image_shape = IMAGENET_IMAGE_SHAPE
    output_range = (-1.0, 1.0)

    def __init__(
        self,
        *,
        latent_dim: int = 8192,
        gf_dim: int = 64,
        noise_channels: int | None = None,
        norm: Literal["virtual", "batch"] = "virtual",
        reference_size: int = 16,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        if norm not in ("virtual", "batch"):
            raise ValueError(f"norm must be 'virtual' or 'batch' (got {norm!r})")
        if noise_channels is not None and (
            isinstance(noise_channels, bool) or not isinstance(noise_channels, int) or noise_channels < 0
        ):
            raise ValueError(f"noise_channels must be an integer >= 0 or None (got {noise_channels!r})")
        factory = {"device": device, "dtype": dtype}
        self.latent_dim = latent_dim
        self.gf_dim = _check_dim("gf_dim", gf_dim)
        self.norm = norm
        reference = _check_dim("reference_size", reference_size) if norm == "virtual" else 0
        self.layout = generator_layout(gf_dim, noise_channels)

        def hidden(width: int, noise: int, pixels: int) -> list[nn.Module]:
            # norm -> ReLU -> noise channels: [N, C, H, W] -> [N, C + k, H, W]
            if norm == "virtual":
                normalise: nn.Module = VirtualBatchNorm(width, reference_size=reference, **factory)
            else:
                normalise = nn.BatchNorm2d(width, **factory)
            if not noise:
                return [normalise, nn.ReLU()]
            return [normalise, nn.ReLU(), NoiseChannels(noise, reference_size=reference, spatial=(pixels, pixels),
                                                        **factory)]

        first, first_noise, _ = self.layout[0]
        layers: list[nn.Module] = [
            nn.Linear(latent_dim, first * _BASE_SIZE * _BASE_SIZE, **factory),  # [N, 16 * 8g]
            nn.Unflatten(1, (first, _BASE_SIZE, _BASE_SIZE)),  # [N, 8g, 4, 4]
            *hidden(*self.layout[0]),  # [N, 8g + n, 4, 4]
        ]
        in_channels = first + first_noise
        for width, noise, pixels in self.layout[1:]:  # H -> 2H
            layers += [
                nn.ConvTranspose2d(in_channels, width, 5, stride=2, padding=2, output_padding=1, **factory),
                *hidden(width, noise, pixels),
            ]
            in_channels = width + noise
        layers += [nn.ConvTranspose2d(in_channels, 3, 5, stride=1, padding=2, **factory), nn.Tanh()]  # [N, 3, 128, 128]
        network = nn.Sequential(*layers)
        self.net: nn.Module = network
        if norm == "virtual":  # the reference latents: drawn from the prior once, fixed for good
            self.net = WithReferenceBatch(network, self.sample_latent(reference))
        self.reset_parameters()

    @property
    def reference_size(self) -> int:
        """The number of reference rows (0 with ``norm="batch"``)."""
        return self.net.reference_size if isinstance(self.net, WithReferenceBatch) else 0

    @property
    def noise_channels(self) -> tuple[int, ...]:
        """The noise channels after each hidden layer (the authors': 64, 64, 32, 16, 8, 8)."""
        return tuple(noise for _, noise, _ in self.layout)

    def reset_parameters(self) -> None:
        """The authors' initial values (module docstring); keeps the reference batch's ``z`` and noise."""
        output_layer = [m for m in self.net.modules() if isinstance(m, nn.ConvTranspose2d)][-1]
        for layer in self.net.modules():
            if isinstance(layer, nn.Linear | nn.ConvTranspose2d):
                output = layer is output_layer
                nn.init.normal_(layer.weight, mean=0.0, std=_OUTPUT_INIT_STD if output else _INIT_STD)
                nn.init.constant_(layer.bias, _OUTPUT_INIT_BIAS if output else 0.0)
            elif isinstance(layer, VirtualBatchNorm | nn.BatchNorm2d):
                layer.reset_parameters()

    def extra_repr(self) -> str:
        reference = f", reference_size={self.reference_size}" if self.norm == "virtual" else ""
        return (
            f"latent_dim={self.latent_dim} ~ U(-1, 1), gf_dim={self.gf_dim}, norm={self.norm!r}{reference}, "
            f"noise_channels={self.noise_channels}, output=tanh in (-1, 1)"
        )


class _LogitsRelativeToLast(nn.Module):
    """``[N, K + 1] -> [N, K]``: ``l[:, :K] - l[:, K:]``, so that the (K+1)-th logit becomes 0."""

    def forward(self, logits: Tensor) -> Tensor:
        return logits[:, :-1] - logits[:, -1:]


class ImageNetDiscriminator(Discriminator):
    """The authors' 128x128 discriminator/classifier, called on the joint batch ``[real; generated]``.

    Args:
        num_classes: ``K``; the last layer has ``K + 1`` outputs. Default: 1000.
        df_dim: the authors' width knob ``d`` (module docstring). Default: 64.
        hidden_units: the dense layer after the convolutions. Default: None, the
            authors' ``40 d`` (2560).
        input_noise: std of Gaussian noise on the input, training mode only. Default: 0.1.
        minibatch_kernels: B of the joint minibatch features, or 0 for none. Default: 300.
        minibatch_kernel_dim: C. Default: 50.
        tower_size: real (and generated) rows per tower of the cross batch norms and the
            minibatch features (module docstring), or None for one tower of the whole
            batch. Default: 16, the authors'.

    ``features`` is the dense layer's output after its norm and leaky ReLU,
    ``[N, hidden_units]`` (before the minibatch features).

    Shape:
        - Input: ``[2n, 3, 128, 128]``, ``num_real = n`` (a multiple of ``tower_size``)
        - Output: ``DiscriminatorOutput(logits [2n, num_classes], features [2n, hidden_units])``

    Example::

        >>> discriminator = ImageNetDiscriminator(df_dim=4, tower_size=2)
        >>> real, generated = torch.rand(2, 3, 128, 128) * 2 - 1, torch.rand(2, 3, 128, 128) * 2 - 1
        >>> out = discriminator(torch.cat([real, generated]), num_real=2)
        >>> out.logits.shape, out.features.shape
        (torch.Size([4, 1000]), torch.Size([4, 160]))
    """

    image_shape = IMAGENET_IMAGE_SHAPE
    cross_sample = True  # the cross batch norm couples the rows of a tower
    joint_batch = True  # one call on [real; generated], with num_real

    def __init__(
        self,
        *,
        num_classes: int = 1000,
        df_dim: int = 64,
        hidden_units: int | None = None,
        input_noise: float = 0.1,
        minibatch_kernels: int = 300,
        minibatch_kernel_dim: int = 50,
        tower_size: int | None = 16,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        if isinstance(minibatch_kernels, bool) or not isinstance(minibatch_kernels, int) or minibatch_kernels < 0:
            raise ValueError(f"minibatch_kernels must be an integer >= 0 (got {minibatch_kernels!r})")
        factory = {"device": device, "dtype": dtype}
        self.num_classes = _check_dim("num_classes", num_classes)
        self.df_dim = _check_dim("df_dim", df_dim)
        self.hidden_units = 40 * df_dim if hidden_units is None else _check_dim("hidden_units", hidden_units)
        self.tower_size = None if tower_size is None else _check_dim("tower_size", tower_size)
        self.input_noise = float(input_noise)
        self.minibatch_kernels = minibatch_kernels
        self.layout = discriminator_layout(df_dim)
        norm = {"tower_size": self.tower_size, **factory}

        trunk: list[nn.Module] = [GaussianNoise(self.input_noise)] if self.input_noise else []
        in_channels = 3
        for width, stride in self.layout:  # 128 -> 64 -> 32 -> 16 -> 16 -> 16 -> 8 -> 4 pixels
            trunk += [
                nn.Conv2d(in_channels, width, 3, stride=stride, padding=1, **factory),
                CrossBatchNorm(width, **norm),
                nn.LeakyReLU(_LEAKY_SLOPE),
            ]
            in_channels = width
        flat = in_channels * _BASE_SIZE * _BASE_SIZE  # 8192
        trunk += [
            nn.Flatten(),  # [N, 16 * 8d]
            nn.Linear(flat, self.hidden_units, **factory),
            CrossBatchNorm(self.hidden_units, **norm),
            nn.LeakyReLU(_LEAKY_SLOPE),
        ]  # [N, hidden]
        self.trunk = nn.Sequential(*trunk)
        self.feature_dim = self.hidden_units

        head: list[nn.Module] = []
        width = self.feature_dim
        if minibatch_kernels:
            minibatch = JointMinibatchDiscrimination(
                width, minibatch_kernels, minibatch_kernel_dim, tower_size=self.tower_size, **factory
            )
            head.append(minibatch)  # [N, F + 2B]
            width = minibatch.out_features
        head += [nn.Linear(width, num_classes + 1, **factory), _LogitsRelativeToLast()]  # [N, K + 1] -> [N, K]
        self.head = nn.Sequential(*head)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """The authors' initial values: conv weights truncated normal, linear normal (std 0.02), biases 0."""
        for layer in self.modules():
            if isinstance(layer, nn.Conv2d):
                nn.init.trunc_normal_(layer.weight, std=_INIT_STD, a=-2 * _INIT_STD, b=2 * _INIT_STD)
                nn.init.zeros_(layer.bias)
            elif isinstance(layer, nn.Linear | JointMinibatchDiscrimination):
                nn.init.normal_(layer.weight, mean=0.0, std=_INIT_STD)
                nn.init.zeros_(layer.bias)
            elif isinstance(layer, CrossBatchNorm):
                layer.reset_parameters()

    def forward(self, x: Tensor, *, num_real: int | None = None) -> DiscriminatorOutput:
        """``x [2n, 3, 128, 128]`` (the ``n`` real rows first) to ``DiscriminatorOutput``; ``num_real = n``."""
        rows = x.shape[0] if x.dim() else 0
        tower = self.tower_size or 2
        if num_real is None or 2 * num_real != rows or num_real < 2 or num_real % tower:
            towers = f" and a multiple of tower_size={self.tower_size}" if self.tower_size else ""
            raise ValueError(
                f"{type(self).__name__} expects one joint batch: D(torch.cat([real, generated]), "
                f"num_real=len(real)) with two equal halves of at least 2 rows{towers}, real first "
                f"(got {rows} rows, num_real={num_real})"
            )
        return super().forward(x)

    def extra_repr(self) -> str:
        return (
            f"num_classes={self.num_classes} (+1 generated), df_dim={self.df_dim}, input_noise={self.input_noise}, "
            f"hidden_units={self.hidden_units}, minibatch_kernels={self.minibatch_kernels}, "
            f"tower_size={self.tower_size}, features={self.feature_dim}"
        )
