"""The fast training step: the reference step's updates, computed with fewer and cheaper kernels.

:class:`FastStep` is a :class:`~improved_gan.training.steps.reference.ReferenceStep` (same
optimisers, EMA, state dict, returned statistics) whose two updates run on
:class:`~improved_gan.training.steps.fast.discriminator.FastDiscriminator` and
:class:`~improved_gan.training.steps.fast.generator.FastGenerator` instead of
autograd. What changes, and what does not:

- The same losses (:mod:`improved_gan.semi_supervised`,
  :mod:`improved_gan.techniques`) in float32, with their gradients in closed
  form (:mod:`~improved_gan.training.steps.fast.losses`); the networks' backward
  passes are written out too.
- Discriminator step: labeled, unlabeled and generated examples in one pass,
  as the reference does; no gradient for the input.
- Generator step: the discriminator's weights are frozen, so the real and the
  generated batch go through it in one pass with one set of normalised
  weights; features only (no logits), and input gradients only for the
  generated rows.
- Weight norm and the compute-dtype weight copies: once per optimiser step
  (:mod:`~improved_gan.training.steps.fast.weights`), written by the optimiser itself.
- Adam: the reference's optimisers (the config's Adam, same state dict),
  updated in one pass per parameter by
  :class:`~improved_gan.training.steps.fast.adam.FusedAdamUpdate`, which also folds
  D's new parameters into the reference's EMA (same object, same state).
- Element-wise work between the products: one pass per stretch
  (:mod:`~improved_gan.training.steps.fast.ops`: C kernels on CPU, PyTorch elsewhere).
- Noise: the same distributions, drawn by the native kernels' counter-based
  generator (seeded from PyTorch's global generator) or by ``torch.randn``.
- bfloat16 (``precision="bf16"``): only the matrix products; master weights,
  optimiser state, element-wise work, weight-norm scales and losses stay float32.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from improved_gan.config import TrainConfig
from improved_gan.training.steps.fast.adam import FusedAdamUpdate
from improved_gan.training.steps.fast.discriminator import FastDiscriminator
from improved_gan.training.steps.fast.generator import FastGenerator
from improved_gan.training.steps.fast.losses import discriminator_loss_and_gradient, feature_matching_loss_and_gradient
from improved_gan.training.steps.fast.networks import DiscriminatorLayers, GeneratorLayers
from improved_gan.training.steps.fast.ops import Ops
from improved_gan.training.steps.protocol import StepInfo
from improved_gan.training.steps.reference import ReferenceStep


class UnsupportedNetwork(ValueError):
    """A network's trainable parameters are not exactly those the fast passes compute gradients for."""


class FastStep(ReferenceStep):
    """The :class:`ReferenceStep`'s updates on hand-written passes (see the module docstring).

    Args:
        config: the run's configuration (feature matching, no historical averaging).
        generator, discriminator: the two players (already initialised).
        generator_layers, discriminator_layers: their layers, from
            :mod:`~improved_gan.training.steps.fast.networks`.
        dtype: the dtype of the matrix products (torch.float32 or torch.bfloat16).
        ops: the element-wise work (:mod:`~improved_gan.training.steps.fast.ops`).
    """

    kind = "fast"

    def __init__(
        self,
        config: TrainConfig,
        generator: nn.Module,
        discriminator: nn.Module,
        *,
        generator_layers: GeneratorLayers,
        discriminator_layers: DiscriminatorLayers,
        dtype: torch.dtype,
        ops: Ops,
    ) -> None:
        super().__init__(config, generator, discriminator)
        if config.generator_loss != "feature-matching" or config.historical_averaging > 0:
            raise ValueError("FastStep implements feature matching without historical averaging")
        self.ops = ops
        self.info = StepInfo("fast", dtype, "native kernels" if ops.kernels else "PyTorch operations")
        self.update_d = FusedAdamUpdate(self.opt_d, kernels=ops.kernels)  # the reference's optimisers, fused
        self.update_g = FusedAdamUpdate(self.opt_g, kernels=ops.kernels)
        self.dtype = dtype
        self.fast_discriminator = FastDiscriminator(discriminator_layers, dtype=dtype, ops=ops)
        self.fast_generator = FastGenerator(generator_layers, dtype=dtype, ops=ops)
        for fast, model in ((self.fast_discriminator, discriminator), (self.fast_generator, generator)):
            if {id(p) for p in fast.parameters()} != {id(p) for p in self._trainable(model)}:
                raise UnsupportedNetwork(f"{type(model).__name__} has trainable parameters the fast step does not update")
        # the EMA of D is folded in by D's Adam pass when that pass updates every parameter it averages
        averaged = {id(p) for p in discriminator.parameters()}
        self._d_averages = self.ema.averages_of(discriminator) if averaged == {id(p) for p in self._d_trainable} else None

    # -- the discriminator --------------------------------------------------------------
    def discriminator_step(self, x_unl: Tensor, x_lab: Tensor | None, y_lab: Tensor | None) -> dict[str, Tensor]:
        """One Adam step on D's loss. Shapes: ``x_* [B, C, H, W]``, ``y_lab [B]``."""
        z = self.generator.sample_latent(len(x_unl))
        x_gen = self.fast_generator.forward(z).images  # [B, D]
        parts = [x_unl.reshape(len(x_unl), -1), x_gen]
        if x_lab is not None:
            parts.insert(0, x_lab.reshape(len(x_lab), -1))
        forward = self.fast_discriminator.forward(torch.cat(parts))  # [N, D] -> logits [N, K]
        stats, grad_logits = discriminator_loss_and_gradient(
            forward.logits, [len(p) for p in parts], y_lab,
            real_target=self.real_target, unsupervised_weight=self.config.unsupervised_weight,
        )
        gradients = self.fast_discriminator.backward_parameters(forward, grad_logits)
        if self._d_averages is None:
            self.update_d.step(gradients)
            self.ema.update(self.discriminator)
        else:
            self.update_d.step(gradients, averages=self._d_averages, average_rate=self.ema.next_rate())
        self.fast_discriminator.parameters_updated()
        return stats

    # -- the generator ------------------------------------------------------------------
    def generator_step(self, x_real: Tensor) -> dict[str, Tensor]:
        """``generator_steps`` Adam steps on G's feature-matching loss; D gets no gradients."""
        n = len(x_real)
        generated_rows = slice(n, None)
        for _ in range(self.config.generator_steps):
            z = self.generator.sample_latent(n)
            generated = self.fast_generator.forward(z)
            forward = self.fast_discriminator.forward(  # real and generated rows, features only
                torch.cat([x_real.reshape(n, -1), generated.images]), logits=False
            )
            loss, grad_features = feature_matching_loss_and_gradient(
                forward.features[:n], forward.features[generated_rows], distance=self.config.feature_matching_distance
            )
            grad_images = self.fast_discriminator.backward_input(forward, grad_features, generated_rows)
            self.update_g.step(self.fast_generator.backward(generated, grad_images))
            self.fast_generator.parameters_updated()
        return {"loss_g": loss}
