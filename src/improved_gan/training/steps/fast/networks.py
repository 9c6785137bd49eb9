"""Which networks the fast step computes, read off the modules themselves.

The fast step does not trust class names: it walks a model's layers and
accepts exactly the shapes it implements, returning ``None`` for anything else
(then the reference :class:`~improved_gan.training.steps.reference.ReferenceStep` runs).

- Discriminator: ``Flatten``, then ``[GaussianNoise] -> WeightNormLinear -> ReLU``
  blocks (the trunk, whose last ReLU output is the feature-matching layer), then
  ``[GaussianNoise] -> WeightNormLinear`` (the head, class logits); no layer
  that mixes examples. This is the permutation-invariant MNIST discriminator of
  Section 6.1 (:class:`~improved_gan.models.mnist.MNISTDiscriminator`).
- Generator: ``[Linear (no bias) -> BatchStatisticsNorm -> Softplus]`` blocks,
  then ``WeightNormLinear -> Sigmoid`` and an optional ``Unflatten``
  (:class:`~improved_gan.models.mnist.MNISTGenerator`).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from improved_gan.layers import BatchStatisticsNorm, GaussianNoise, WeightNormLinear


@dataclass(frozen=True)
class NoisyDense:
    """One discriminator layer: the Gaussian noise module on its input (or None), then ``layer``."""

    layer: WeightNormLinear
    noise_module: GaussianNoise | None

    @property
    def noise(self) -> float:
        """The noise's std now: 0 without a noise module or in eval mode (as :class:`GaussianNoise`)."""
        module = self.noise_module
        return module.std if module is not None and module.training else 0.0


@dataclass(frozen=True)
class DiscriminatorLayers:
    """``hidden`` (ReLU after each; the last one's output is the features) and the ``output`` layer."""

    hidden: tuple[NoisyDense, ...]
    output: NoisyDense


@dataclass(frozen=True)
class NormalisedDense:
    """One generator block: ``linear`` (no bias), batch-statistics ``norm``, softplus."""

    linear: nn.Linear
    norm: BatchStatisticsNorm


@dataclass(frozen=True)
class GeneratorLayers:
    """``blocks``, then the weight-normalised ``output`` layer and a sigmoid."""

    blocks: tuple[NormalisedDense, ...]
    output: WeightNormLinear


def _is_default_softplus(module: nn.Module) -> bool:
    return isinstance(module, nn.Softplus) and module.beta == 1 and module.threshold == 20


def discriminator_layers(discriminator: nn.Module) -> DiscriminatorLayers | None:
    """The layers of a supported discriminator, or None (see the module docstring)."""
    if getattr(discriminator, "cross_sample", True):
        return None
    trunk, head = getattr(discriminator, "trunk", None), getattr(discriminator, "head", None)
    if not isinstance(trunk, nn.Sequential) or not isinstance(head, nn.Sequential):
        return None
    modules = list(trunk)
    if not modules or not isinstance(modules[0], nn.Flatten):
        return None
    hidden = _noisy_dense_sequence(modules[1:], relu=True)
    output = _noisy_dense_sequence(list(head), relu=False)
    if not hidden or output is None or len(output) != 1:
        return None
    widths = [hidden[0].layer.in_features] + [d.layer.out_features for d in hidden]
    if any(d.layer.in_features != w for d, w in zip([*hidden, *output], widths)):
        return None
    if any(d.layer.bias is None or d.layer.weight_v.dim() != 2 for d in [*hidden, *output]):
        return None
    return DiscriminatorLayers(tuple(hidden), output[0])


def _noisy_dense_sequence(modules: list[nn.Module], *, relu: bool) -> list[NoisyDense] | None:
    """``[GaussianNoise] -> WeightNormLinear [-> ReLU]`` repeated, exactly; else None."""
    layers, noise, i = [], None, 0
    while i < len(modules):
        if type(modules[i]) is GaussianNoise:
            noise, i = modules[i], i + 1
        if i >= len(modules) or type(modules[i]) is not WeightNormLinear:
            return None
        layers.append(NoisyDense(modules[i], noise))
        noise, i = None, i + 1
        if relu:
            if i >= len(modules) or type(modules[i]) is not nn.ReLU:
                return None
            i += 1
    return layers


def generator_layers(generator: nn.Module) -> GeneratorLayers | None:
    """The layers of a supported generator, or None (see the module docstring)."""
    net = getattr(generator, "net", None)
    if not isinstance(net, nn.Sequential):
        return None
    modules = list(net)
    if modules and isinstance(modules[-1], nn.Unflatten):
        modules = modules[:-1]
    if len(modules) < 2 or type(modules[-2]) is not WeightNormLinear or type(modules[-1]) is not nn.Sigmoid:
        return None
    body = modules[:-2]
    if len(body) % 3:
        return None
    blocks = []
    for linear, norm, activation in zip(body[0::3], body[1::3], body[2::3]):
        if type(linear) is not nn.Linear or linear.bias is not None:
            return None
        if type(norm) is not BatchStatisticsNorm or not _is_default_softplus(activation):
            return None
        blocks.append(NormalisedDense(linear, norm))
    output = modules[-2]
    if output.bias is None:
        return None
    return GeneratorLayers(tuple(blocks), output)
