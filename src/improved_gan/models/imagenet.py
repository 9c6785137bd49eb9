"""The ImageNet 128x128 models of Section 6.5: the authors' model and a plain DCGAN baseline.

What the authors' TensorFlow code ran (docs/reference.md, "ImageNet 128x128"),
and what is ours where the reference is silent (marked *ours*; docs/imagenet.md
has the layer-by-layer tables):

- Generator (``imagenet128``): ``z ~ Uniform(-1, 1)^8192``; after every hidden
  layer fresh ``Uniform(-1, 1)`` noise channels are concatenated
  (:class:`~improved_gan.layers.NoiseChannels`); every hidden layer is
  normalised with virtual batch norm (Section 3.5,
  :class:`~improved_gan.techniques.VirtualBatchNorm`): a reference batch of
  ``reference_size = 16`` fixed latent vectors (the per-tower batch) goes
  through the network with every call, each example is normalised with
  ``1/17`` of its own and ``16/17`` of the reference's statistics, ``eps = 1e-5``,
  ``gamma ~ N(1, 0.02)``, ``beta = 0``. *Ours*: the DCGAN-style shape: a dense
  layer to ``4 x 4 x 512`` then five 5x5 stride-2 transposed convolutions to
  256, 128, 64, 32 channels (8, 16, 32, 64 pixels) and 3 channels at 128 x 128
  with a tanh; 16 noise channels per layer; ReLU; no bias before a norm;
  weights ``N(0, 0.02)`` (DCGAN's).
- Discriminator (``imagenet128``): Gaussian noise (std 0.1) on the input; conv
  layers followed by the cross batch norm (:class:`~improved_gan.layers.CrossBatchNorm`:
  half of the channels normalised with the real half's statistics, the other
  half with the generated half's); a 2560-unit dense layer; minibatch features
  on the joint real + generated batch from a plain biased linear layer to
  300 x 50 (:class:`~improved_gan.techniques.JointMinibatchDiscrimination`);
  1001 logits with the GAN logit ``LSE(first 1000) - last``. *Ours*: five 5x5
  stride-2 convolutions 64, 128, 256, 512, 1024 (128 -> 4 pixels), no norm
  after the first (DCGAN's rule), leaky ReLU 0.2 after every conv and after
  the dense layer, weights ``N(0, 0.02)``.
- The baseline (``imagenet128-dcgan``, :meth:`ImageNetGenerator.dcgan`,
  :meth:`ImageNetDiscriminator.dcgan`): the same convolutional shapes with
  plain :class:`torch.nn.BatchNorm2d`, no noise channels, no input noise, no
  dense or minibatch layer, ``z ~ Uniform(-1, 1)^100`` and a single real/fake
  logit (DCGAN's settings; the paper does not describe its baseline).

**Logits.** Every discriminator of the package returns ``K`` logits with the
logit of the "generated" class fixed at 0 (Section 5). The authors' model has
``K + 1 = 1001`` free logits ``l``; it returns ``l[:, :K] - l[:, K:]``, which
has exactly the same class softmax over the first ``K`` and the same GAN logit
``LSE(logits) = LSE(l[:, :K]) - l[:, K]``, so ``D(x) = sigmoid(LSE(logits))``
as for the other models. The baseline's single logit is ``K = 1``.

**The joint batch.** The authors' discriminator must see real and generated
examples together: its cross batch norm and minibatch features compare each
row with both halves. Its contract, stated at every call:
``discriminator(torch.cat([real, generated]), num_real=len(real))`` with two
halves of equal size ``H >= 2``, the real half first. Without ``num_real``, or
with halves of other sizes, it raises ``ValueError``: a batch of real images
alone would otherwise pass for a joint batch and be normalised wrongly, with
no error. :attr:`ImageNetDiscriminator.joint_batch` says which contract a
model has (True for the authors' model; False for the baseline, which is
called on the real and the generated batch separately, as DCGAN's is, and
refuses ``num_real``).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

from improved_gan.layers import CrossBatchNorm, GaussianNoise, NoiseChannels
from improved_gan.models.base import Discriminator, Generator
from improved_gan.models.outputs import DiscriminatorOutput
from improved_gan.techniques import JointMinibatchDiscrimination, VirtualBatchNorm, WithReferenceBatch

__all__ = ["IMAGENET_IMAGE_SHAPE", "ImageNetDiscriminator", "ImageNetGenerator"]

IMAGENET_IMAGE_SHAPE = (3, 128, 128)
_BASE_SIZE = 4  # the generator starts, and the discriminator's convolutions end, at 4 x 4 pixels
_UPSAMPLINGS = 5  # 4 * 2^5 = 128
_LEAKY_SLOPE = 0.2
_INIT_STD = 0.02  # N(0, 0.02^2): DCGAN's initial weights (ours: the reference does not give them)


def _check_widths(widths: tuple[int, ...], what: str, example: str) -> tuple[int, ...]:
    widths = tuple(widths)
    if len(widths) != _UPSAMPLINGS or any(isinstance(w, bool) or not isinstance(w, int) or w < 1 for w in widths):
        raise ValueError(
            f"{what} must be {_UPSAMPLINGS} positive channel counts, one per factor of 2 between "
            f"4 and 128 pixels, e.g. {example} (got {widths!r})"
        )
    return widths


def _stride2_geometry(kernel_size: int) -> dict[str, int]:
    """Padding (and output padding) for which a stride-2 conv halves, and its transpose doubles, H."""
    if kernel_size < 2:
        raise ValueError(f"kernel_size must be >= 2 (got {kernel_size})")
    return {"padding": (kernel_size - 1) // 2, "output_padding": kernel_size % 2}


def _init_dcgan(module: nn.Module) -> None:
    """Fresh values in every sub-layer, then ``N(0, 0.02^2)`` weights and zero biases in the linear/conv ones."""
    for layer in module.modules():
        if layer is not module and hasattr(layer, "reset_parameters"):
            layer.reset_parameters()
        if isinstance(layer, nn.Linear | nn.Conv2d | nn.ConvTranspose2d | JointMinibatchDiscrimination):
            nn.init.normal_(layer.weight, mean=0.0, std=_INIT_STD)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)


class ImageNetGenerator(Generator):
    """The 128x128 RGB generator: ``z [N, latent_dim] -> images [N, 3, 128, 128]`` in ``(-1, 1)``.

    The defaults are the authors' ImageNet generator (module docstring);
    :meth:`dcgan` gives the baseline's.

    Args:
        latent_dim: size of ``z``; ``z ~ Uniform(-1, 1)`` (:meth:`sample_latent`). Default: 8192.
        widths: channels at 4, 8, 16, 32 and 64 pixels (ours). Default: (512, 256, 128, 64, 32).
        norm: ``"virtual"`` (the authors': virtual batch norm over ``reference_size``
            fixed latent vectors) or ``"batch"`` (the baseline: :class:`torch.nn.BatchNorm2d`,
            batch statistics in training, running averages in eval mode). Default: ``"virtual"``.
        noise_channels: ``Uniform(-1, 1)`` channels concatenated after each hidden
            layer (ours: the count; 0 for none). Default: 16.
        reference_size: with ``norm="virtual"``, the number of reference latent vectors
            (the authors': 16, the per-tower batch), drawn from ``Uniform(-1, 1)``
            once at construction (from torch's global generator) and stored as the
            buffer ``net.reference_input``. Default: 16.
        kernel_size: of the transposed convolutions (ours). Default: 5.

    With ``norm="virtual"`` each image depends on its own ``z``, its own noise
    channels and the reference batch only; every call runs ``reference_size``
    extra rows (whose noise channels are fresh draws too, so the reference
    statistics vary slightly from call to call). The noise channels are drawn
    in eval mode too: they are part of the generator's input.

    Shape:
        - Input: ``[N, latent_dim]``
        - Output: ``[N, 3, 128, 128]``

    Example::

        >>> generator = ImageNetGenerator()
        >>> generator(generator.sample_latent(2)).shape
        torch.Size([2, 3, 128, 128])
    """

    image_shape = IMAGENET_IMAGE_SHAPE
    output_range = (-1.0, 1.0)

    def __init__(
        self,
        *,
        latent_dim: int = 8192,
        widths: tuple[int, ...] = (512, 256, 128, 64, 32),
        norm: Literal["virtual", "batch"] = "virtual",
        noise_channels: int = 16,
        reference_size: int = 16,
        kernel_size: int = 5,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        if norm not in ("virtual", "batch"):
            raise ValueError(f"norm must be 'virtual' or 'batch' (got {norm!r})")
        if isinstance(noise_channels, bool) or not isinstance(noise_channels, int) or noise_channels < 0:
            raise ValueError(f"noise_channels must be an integer >= 0 (got {noise_channels!r})")
        if norm == "virtual" and reference_size < 1:
            raise ValueError(f"reference_size must be >= 1 (got {reference_size})")
        factory = {"device": device, "dtype": dtype}
        self.latent_dim = latent_dim
        self.widths = _check_widths(widths, "widths", "(512, 256, 128, 64, 32)")
        self.norm = norm
        self.noise_channels = noise_channels
        self.kernel_size = kernel_size
        geometry = _stride2_geometry(kernel_size)
        k = noise_channels

        def hidden(num_features: int) -> list[nn.Module]:
            # norm -> ReLU -> noise channels: [N, C, H, W] -> [N, C + k, H, W]
            if norm == "virtual":
                normalise: nn.Module = VirtualBatchNorm(num_features, reference_size=reference_size, **factory)
            else:
                normalise = nn.BatchNorm2d(num_features, **factory)
            return [normalise, nn.ReLU(), *([NoiseChannels(k)] if k else [])]

        def upsample(in_channels: int, out_channels: int, *, bias: bool) -> nn.ConvTranspose2d:
            return nn.ConvTranspose2d(in_channels, out_channels, kernel_size, stride=2, bias=bias, **geometry, **factory)

        first = self.widths[0]
        layers: list[nn.Module] = [
            nn.Linear(latent_dim, first * _BASE_SIZE * _BASE_SIZE, bias=False, **factory),  # [N, 16 w0]
            nn.Unflatten(1, (first, _BASE_SIZE, _BASE_SIZE)),  # [N, w0, 4, 4]
            *hidden(first),  # [N, w0 + k, 4, 4]
        ]
        for in_width, out_width in zip(self.widths, self.widths[1:]):
            layers += [upsample(in_width + k, out_width, bias=False), *hidden(out_width)]  # H -> 2H
        layers += [upsample(self.widths[-1] + k, 3, bias=True), nn.Tanh()]  # [N, 3, 128, 128]
        network = nn.Sequential(*layers)
        self.net: nn.Module = network
        if norm == "virtual":  # the reference latents: drawn from the prior once, fixed for good
            self.net = WithReferenceBatch(network, self.sample_latent(reference_size))
        self.reset_parameters()

    @classmethod
    def dcgan(cls, **overrides) -> ImageNetGenerator:
        """The ``imagenet128-dcgan`` baseline: ``z ~ Uniform(-1, 1)^100``, batch norm, no noise channels."""
        return cls(**{"latent_dim": 100, "norm": "batch", "noise_channels": 0, **overrides})

    @property
    def reference_size(self) -> int:
        """The number of reference latent vectors (0 with ``norm="batch"``)."""
        return self.net.reference_size if isinstance(self.net, WithReferenceBatch) else 0

    def reset_parameters(self) -> None:
        """``N(0, 0.02^2)`` weights, zero biases, VBN's ``gamma ~ N(1, 0.02^2)``; keeps the reference latents."""
        _init_dcgan(self.net)

    def sample_latent(
        self, batch_size: int, *, generator: torch.Generator | None = None, device: torch.device | None = None
    ) -> Tensor:
        """``[batch_size, latent_dim]`` draws of ``Uniform(-1, 1)`` (the authors' ImageNet prior)."""
        return super().sample_latent(batch_size, generator=generator, device=device) * 2 - 1

    def extra_repr(self) -> str:
        reference = f", reference_size={self.reference_size}" if self.norm == "virtual" else ""
        return (
            f"latent_dim={self.latent_dim} ~ U(-1, 1), widths={self.widths}, norm={self.norm!r}{reference}, "
            f"noise_channels={self.noise_channels}, kernel_size={self.kernel_size}, output=tanh in (-1, 1)"
        )


class _LogitsRelativeToLast(nn.Module):
    """``[N, K + 1] -> [N, K]``: ``l[:, :K] - l[:, K:]``, so that the (K+1)-th logit becomes 0."""

    def forward(self, logits: Tensor) -> Tensor:
        return logits[:, :-1] - logits[:, -1:]


class ImageNetDiscriminator(Discriminator):
    """The 128x128 discriminator/classifier: the authors' (defaults) or the DCGAN baseline (:meth:`dcgan`).

    Args:
        num_classes: ``K``. Default: 1000.
        widths: channels of the five 5x5 stride-2 convolutions (ours).
            Default: (64, 128, 256, 512, 1024).
        norm: after every convolution but the first: ``"cross"`` (the authors':
            :class:`~improved_gan.layers.CrossBatchNorm` over the joint batch) or
            ``"batch"`` (:class:`torch.nn.BatchNorm2d`). Default: ``"cross"``.
        input_noise: std of Gaussian noise on the input, training mode only. Default: 0.1.
        hidden_units: the dense layer after the convolutions (leaky ReLU), or 0 for none. Default: 2560.
        minibatch_kernels: B of the joint minibatch features, or 0 for none. Default: 300.
        minibatch_kernel_dim: C. Default: 50.
        generated_logit: ``"learned"`` (the authors': the last layer has ``K + 1``
            outputs and the returned logits are ``l[:, :K] - l[:, K]``) or ``"zero"``
            (``K`` outputs, the package's usual fixed 0). Default: ``"learned"``.
        kernel_size: of the convolutions (ours). Default: 5.

    ``features`` is the dense layer's output ``[N, hidden_units]`` (before the
    minibatch features), or the flattened last conv map ``[N, 16 widths[-1]]``
    without a dense layer.

    Call contract: with a cross batch norm or joint minibatch features
    (:attr:`joint_batch` True), ``forward(torch.cat([real, generated]),
    num_real=len(real))`` with two equal halves of at least 2 rows, real first;
    anything else raises ``ValueError``. To classify real images only (e.g. test
    accuracy), pair them with as many generated ones and keep the first half of
    the output. Without a joint batch (:attr:`joint_batch` False), ``forward(x)``.

    Shape:
        - Input: ``[N, 3, 128, 128]`` (``N = 2H`` when :attr:`joint_batch`)
        - Output: ``DiscriminatorOutput(logits [N, num_classes], features [N, feature_dim])``

    Example::

        >>> discriminator = ImageNetDiscriminator()
        >>> real, generated = torch.rand(2, 3, 128, 128) * 2 - 1, torch.rand(2, 3, 128, 128) * 2 - 1
        >>> out = discriminator(torch.cat([real, generated]), num_real=2)
        >>> out.logits.shape, out.features.shape
        (torch.Size([4, 1000]), torch.Size([4, 2560]))
    """

    image_shape = IMAGENET_IMAGE_SHAPE
    cross_sample = True  # batch statistics (cross or plain) couple the rows of a batch in training

    def __init__(
        self,
        *,
        num_classes: int = 1000,
        widths: tuple[int, ...] = (64, 128, 256, 512, 1024),
        norm: Literal["cross", "batch"] = "cross",
        input_noise: float = 0.1,
        hidden_units: int = 2560,
        minibatch_kernels: int = 300,
        minibatch_kernel_dim: int = 50,
        generated_logit: Literal["learned", "zero"] = "learned",
        kernel_size: int = 5,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        if norm not in ("cross", "batch"):
            raise ValueError(f"norm must be 'cross' or 'batch' (got {norm!r})")
        if generated_logit not in ("learned", "zero"):
            raise ValueError(f"generated_logit must be 'learned' or 'zero' (got {generated_logit!r})")
        for name, value in (("num_classes", num_classes), ("hidden_units", hidden_units),
                            ("minibatch_kernels", minibatch_kernels)):
            if isinstance(value, bool) or not isinstance(value, int) or value < (1 if name == "num_classes" else 0):
                raise ValueError(f"{name} must be an integer >= {1 if name == 'num_classes' else 0} (got {value!r})")
        factory = {"device": device, "dtype": dtype}
        self.widths = _check_widths(widths, "widths", "(64, 128, 256, 512, 1024)")
        self.num_classes = num_classes
        self.norm = norm
        self.input_noise = float(input_noise)
        self.hidden_units = hidden_units
        self.minibatch_kernels = minibatch_kernels
        self.generated_logit = generated_logit
        self.kernel_size = kernel_size
        self.joint_batch = norm == "cross" or minibatch_kernels > 0
        padding = _stride2_geometry(kernel_size)["padding"]

        def downsample(in_channels: int, out_channels: int, *, normalised: bool) -> list[nn.Module]:
            # H -> H/2; no bias before a norm (its beta is the bias)
            conv = nn.Conv2d(
                in_channels, out_channels, kernel_size, stride=2, padding=padding, bias=not normalised, **factory
            )
            if not normalised:
                return [conv, nn.LeakyReLU(_LEAKY_SLOPE)]
            if norm == "cross":
                normalise: nn.Module = CrossBatchNorm(out_channels, **factory)
            else:
                normalise = nn.BatchNorm2d(out_channels, **factory)
            return [conv, normalise, nn.LeakyReLU(_LEAKY_SLOPE)]

        trunk: list[nn.Module] = [GaussianNoise(self.input_noise)] if self.input_noise else []
        trunk += downsample(3, self.widths[0], normalised=False)  # [N, w0, 64, 64]
        for in_width, out_width in zip(self.widths, self.widths[1:]):
            trunk += downsample(in_width, out_width, normalised=True)  # ... [N, w4, 4, 4]
        trunk.append(nn.Flatten())  # [N, 16 w4]
        flat = self.widths[-1] * _BASE_SIZE * _BASE_SIZE
        if hidden_units:
            trunk += [nn.Linear(flat, hidden_units, **factory), nn.LeakyReLU(_LEAKY_SLOPE)]  # [N, hidden]
        self.trunk = nn.Sequential(*trunk)
        self.feature_dim = hidden_units or flat

        head: list[nn.Module] = []
        width = self.feature_dim
        if minibatch_kernels:
            minibatch = JointMinibatchDiscrimination(width, minibatch_kernels, minibatch_kernel_dim, **factory)
            head.append(minibatch)  # [N, F + 2B]
            width = minibatch.out_features
        learned = generated_logit == "learned"
        head.append(nn.Linear(width, num_classes + int(learned), **factory))  # [N, K (+ 1)]
        if learned:
            head.append(_LogitsRelativeToLast())  # [N, K]
        self.head = nn.Sequential(*head)
        self.reset_parameters()

    @classmethod
    def dcgan(cls, **overrides) -> ImageNetDiscriminator:
        """The ``imagenet128-dcgan`` baseline: batch norm, one real/fake logit, no techniques."""
        baseline = {
            "num_classes": 1, "norm": "batch", "input_noise": 0.0, "hidden_units": 0,
            "minibatch_kernels": 0, "generated_logit": "zero",
        }
        return cls(**{**baseline, **overrides})

    def reset_parameters(self) -> None:
        """``N(0, 0.02^2)`` weights, zero biases, the norms' ``gamma`` (cross: ``N(1, 0.02^2)``; batch: 1)."""
        _init_dcgan(self)

    def forward(self, x: Tensor, *, num_real: int | None = None) -> DiscriminatorOutput:
        """``x [N, 3, 128, 128]`` to ``DiscriminatorOutput``; ``num_real = N / 2`` (the real rows first)
        exactly when :attr:`joint_batch`, else None."""
        name = type(self).__name__
        if not self.joint_batch:
            if num_real is not None:
                raise ValueError(
                    f"{name} was built without a joint batch (norm={self.norm!r}, no minibatch features): call it "
                    f"on the real and the generated batch separately, without num_real (got num_real={num_real})"
                )
            return super().forward(x)
        rows = x.shape[0] if x.dim() else 0
        if num_real is None or rows < 4 or 2 * num_real != rows:
            raise ValueError(
                f"{name} expects one joint batch: D(torch.cat([real, generated]), num_real=len(real)) with two "
                f"equal halves of at least 2 rows each, real first (got {rows} rows, num_real={num_real})"
            )
        return super().forward(x)

    def extra_repr(self) -> str:
        return (
            f"num_classes={self.num_classes}, widths={self.widths}, norm={self.norm!r}, "
            f"input_noise={self.input_noise}, hidden_units={self.hidden_units}, "
            f"minibatch_kernels={self.minibatch_kernels}, generated_logit={self.generated_logit!r}, "
            f"features={self.feature_dim}, joint_batch={self.joint_batch}"
        )
