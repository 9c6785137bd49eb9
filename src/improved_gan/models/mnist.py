"""The permutation-invariant MNIST models of Section 6.1 (feature matching, Table 1).

Both are multilayer perceptrons, exactly as the authors' code ran them
(docs/reference.md):

- Generator: ``z ~ U(0,1)^100 -> 500 -> 500 -> 784``; the hidden layers are dense
  (no bias), batch norm with batch statistics (no scale, learned bias, eps 1e-6)
  and softplus; the output layer is weight-normalised with a trainable scale and
  a sigmoid, so pixels lie in ``(0, 1)``.
- Discriminator: Gaussian noise (std 0.3) on the input, then weight-normalised
  dense layers of 1000, 500, 250, 250, 250 ReLU units, each followed by Gaussian
  noise (std 0.5), then a weight-normalised dense layer to 10 class logits (the
  "generated" logit is the implicit 0). Only the last layer learns its scale.

Batch composition: nothing in the discriminator couples the rows of a batch
(the noise is drawn per element, the weight normalisation depends on weights
only), so labeled, unlabeled and generated examples can go through it as one
concatenated batch, and :meth:`DiscriminatorOutput.split` cuts the result
apart. Two things do couple rows: the generator's batch norm, and the optional
minibatch-discrimination layer of the discriminator (``cross_sample`` is then
True and real and generated batches must be discriminated separately).
"""

from __future__ import annotations

from typing import Sequence

from torch import nn

from improved_gan.layers import BatchStatisticsNorm, GaussianNoise, WeightNormLinear
from improved_gan.models.base import Discriminator, Generator, minibatch_discrimination_layers

__all__ = ["MNIST_IMAGE_SHAPE", "MNISTGenerator", "MNISTDiscriminator"]

MNIST_IMAGE_SHAPE = (1, 28, 28)
_PIXELS = 28 * 28


class MNISTGenerator(Generator):
    """The MNIST generator: ``z [N, 100] -> images [N, 1, 28, 28]`` in ``(0, 1)``.

    Args:
        latent_dim: size of ``z``. Default: 100.
        hidden_sizes: widths of the hidden layers. Default: (500, 500).
        bn_eps: eps of the batch norm. Default: 1e-6.

    The hidden dense weights and the output direction ``v`` start Glorot-uniform
    (the reference's Lasagne default), the output scale ``g`` at 1 and all biases
    at 0; the reference does not initialise this generator from data, so its
    output layer is built with ``init_scale=None`` and :func:`init_weight_norm`
    leaves it alone.

    Each image depends on the whole batch of ``z`` through the batch norm, in
    eval mode too (see :mod:`improved_gan.layers.normalization`): sample in
    batches of the training size.

    Shape:
        - Input: ``[N, latent_dim]`` with ``N >= 2``
        - Output: ``[N, 1, 28, 28]``

    Example::

        >>> generator = MNISTGenerator()
        >>> generator(generator.sample_latent(100)).shape
        torch.Size([100, 1, 28, 28])
    """

    image_shape = MNIST_IMAGE_SHAPE
    output_range = (0.0, 1.0)

    def __init__(
        self,
        *,
        latent_dim: int = 100,
        hidden_sizes: Sequence[int] = (500, 500),
        bn_eps: float = 1e-6,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        self.latent_dim = latent_dim
        self.hidden_sizes = tuple(hidden_sizes)
        layers: list[nn.Module] = []
        width = latent_dim
        for size in self.hidden_sizes:
            layers += [
                nn.Linear(width, size, bias=False, **factory),
                BatchStatisticsNorm(size, eps=bn_eps, **factory),
                nn.Softplus(),
            ]
            width = size
        layers += [
            WeightNormLinear(width, _PIXELS, trainable_scale=True, init_scale=None, init_std=None, **factory),
            nn.Sigmoid(),
            nn.Unflatten(1, MNIST_IMAGE_SHAPE),
        ]
        self.net = nn.Sequential(*layers)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Glorot-uniform weights and directions, ``g = 1``, zero biases."""
        for module in self.net:
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)

    def extra_repr(self) -> str:
        return f"latent_dim={self.latent_dim}, hidden_sizes={self.hidden_sizes}, output=sigmoid in (0, 1)"


class MNISTDiscriminator(Discriminator):
    """The MNIST discriminator/classifier: images -> 10 logits and the 250 features matched.

    Args:
        num_classes: ``K``, the number of real classes. Default: 10.
        hidden_sizes: widths of the hidden ReLU layers. Default: (1000, 500, 250, 250, 250).
        input_noise: std of the Gaussian noise on the input. Default: 0.3.
        hidden_noise: std of the Gaussian noise after each hidden layer. Default: 0.5.
        minibatch_kernels: B, the number of minibatch-discrimination kernels (Section
            3.2) applied to the features before the last noise and dense layer, or
            None/0 for none (the paper's feature-matching model). Default: None.
        minibatch_kernel_dim: C, the dimension of each kernel. Default: 5.
        minibatch_weight_norm: the authors' minibatch layer, with a weight-normalised
            T and a data-dependent initialisation; False for the paper's plain T
            (with which ``mnist-mbd`` collapses, docs/results.md). Default: True.

    Every dense layer is weight-normalised with its direction ``v`` drawn from
    ``N(0, 0.1^2)`` (the reference's initial values); the hidden layers' scales
    are frozen after :func:`~improved_gan.layers.init_weight_norm`, the output
    layer's is learned. ``features`` is the last hidden layer after its ReLU and
    before its noise (what the reference's feature matching reads); the noise is
    applied in training mode only.

    The minibatch-discrimination variant is this package's: the authors' MNIST
    minibatch model is a convolutional network, while the ``mnist-mbd`` preset
    keeps the permutation-invariant one and appends the B minibatch features to
    the 250 features, ``[f, o(f)]``, before the noise and the output layer.

    Shape:
        - Input: ``[N, 1, 28, 28]`` or ``[N, 784]``, pixels in ``[0, 1]``
        - Output: ``DiscriminatorOutput(logits [N, num_classes], features [N, hidden_sizes[-1]])``

    Example::

        >>> discriminator = MNISTDiscriminator()
        >>> out = discriminator(torch.rand(300, 1, 28, 28))
        >>> out.logits.shape, out.features.shape
        (torch.Size([300, 10]), torch.Size([300, 250]))
    """

    image_shape = MNIST_IMAGE_SHAPE
    _accepts_flat_images = True

    def __init__(
        self,
        *,
        num_classes: int = 10,
        hidden_sizes: Sequence[int] = (1000, 500, 250, 250, 250),
        input_noise: float = 0.3,
        hidden_noise: float = 0.5,
        minibatch_kernels: int | None = None,
        minibatch_kernel_dim: int = 5,
        minibatch_weight_norm: bool = True,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        if not hidden_sizes:
            raise ValueError("hidden_sizes must name at least one hidden layer")
        factory = {"device": device, "dtype": dtype}
        self.num_classes = num_classes
        self.hidden_sizes = tuple(hidden_sizes)
        self.feature_dim = self.hidden_sizes[-1]
        self.input_noise = input_noise
        self.hidden_noise = hidden_noise
        trunk: list[nn.Module] = [nn.Flatten(), GaussianNoise(input_noise)]
        width = _PIXELS
        for index, size in enumerate(self.hidden_sizes):
            if index > 0:
                trunk.append(GaussianNoise(hidden_noise))
            trunk += [WeightNormLinear(width, size, init_std=0.1, **factory), nn.ReLU()]
            width = size
        # [N, 784] -> [N, hidden_sizes[-1]]: the features
        self.trunk = nn.Sequential(*trunk)
        # [N, hidden_sizes[-1]] -> ([N, hidden_sizes[-1] + B] with minibatch features) -> [N, num_classes]
        minibatch = minibatch_discrimination_layers(
            width, minibatch_kernels, minibatch_kernel_dim, weight_norm=minibatch_weight_norm, **factory
        )
        self.minibatch_kernels = minibatch[0].num_kernels if minibatch else 0
        self.cross_sample = bool(minibatch)
        self.head = nn.Sequential(
            *minibatch,
            GaussianNoise(hidden_noise),
            WeightNormLinear(width + self.minibatch_kernels, num_classes, trainable_scale=True, init_std=0.1, **factory),
        )

    def extra_repr(self) -> str:
        return (
            f"num_classes={self.num_classes}, hidden_sizes={self.hidden_sizes}, "
            f"input_noise={self.input_noise}, hidden_noise={self.hidden_noise}, features={self.feature_dim}, "
            f"minibatch_kernels={self.minibatch_kernels}"
        )
