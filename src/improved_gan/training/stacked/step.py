r"""One training iteration of S copies at once: D's update, then G's (Sections 3.1 and 5).

The same iteration as the reference step (training/step.py), with every tensor
carrying a leading copy dimension S:

* D step: :math:`x_g = G_s(z_s)` without gradients, one pass of D over the
  concatenated ``[labeled, unlabeled, generated]`` rows of each copy, the K+1
  losses of :mod:`improved_gan.semi_supervised`, an Adam step and the EMA;
* G step: feature matching (Section 3.1) between D's features of a real batch
  (no gradient) and of :math:`G_s(z_s)`, D's parameters detached, an Adam step.

Each copy's loss is computed by the unmodified networks and losses under
:func:`torch.func.vmap`; the copies' losses are summed before ``backward()``.
The copies share no parameter, so the gradient of the sum with respect to
copy s's parameters is copy s's own gradient. The authors' Adam and the EMA
are element-wise, so :class:`~improved_gan.training.optim.AuthorsAdam` and
:class:`~improved_gan.training.ema.ExponentialMovingAverage` run unchanged on
the ``[S, *shape]`` tensors: one ``_foreach`` kernel per operation updates
every copy, and the state they keep is each copy's state stacked.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import Tensor

from improved_gan import semi_supervised as ss
from improved_gan.config import TrainConfig
from improved_gan.techniques import feature_matching_loss
from improved_gan.training.ema import ExponentialMovingAverage
from improved_gan.training.optim import AuthorsAdam
from improved_gan.training.stacked.state import StackedModule
from improved_gan.training.steps.reference import in_loss_precision

__all__ = ["StackedStep"]

STACKED_STATE_KEYS = ("opt_d", "opt_g", "ema")


class StackedStep:
    """Optimisers and the EMA of S stacked copies, and the update rules of one iteration.

    Args:
        config: the copies' shared configuration (seeds aside).
        generator, discriminator: the stacked networks, S copies each.
        latent_rngs: S generators, copy s's z stream (on the networks' device).

    Statistics come back as detached ``[S]`` tensors, one value per copy, with the
    names the reference step uses (``loss_d``, ``loss_unsup``, ``loss_sup``,
    ``train_errors``, ``loss_g``).
    """

    def __init__(
        self,
        config: TrainConfig,
        generator: StackedModule,
        discriminator: StackedModule,
        latent_rngs: Sequence[torch.Generator],
    ) -> None:
        if not generator.size == discriminator.size == len(latent_rngs):
            raise ValueError(
                f"expected as many z streams as copies (got G x {generator.size}, D x {discriminator.size}, "
                f"{len(latent_rngs)} streams)"
            )
        self.config = config
        self.generator = generator
        self.discriminator = discriminator
        self.latent_rngs = list(latent_rngs)
        adam = dict(lr=config.lr, betas=(config.beta1, config.beta2), eps=1e-8)
        self.opt_d = AuthorsAdam(discriminator.trainable(), **adam)
        self.opt_g = AuthorsAdam(generator.trainable(), **adam)
        self.ema = ExponentialMovingAverage(discriminator.params, rate=config.ema_rate)
        self.real_target = config.real_target

    @property
    def size(self) -> int:
        return self.generator.size

    def set_lr(self, lr: float) -> None:
        for opt in (self.opt_d, self.opt_g):
            for group in opt.param_groups:
                group["lr"] = lr

    def sample_latent(self, n: int) -> Tensor:
        """z ~ Uniform(0, 1)^latent_dim from each copy's own stream. Shape ``[S, n, latent_dim]``."""
        device = self.generator.params[0].device
        prior = self.generator.template  # the generator's own prior (Generator.sample_latent)
        return torch.stack([prior.sample_latent(n, generator=rng, device=device) for rng in self.latent_rngs])

    # -- the discriminator --------------------------------------------------------------------
    def _discriminator_outputs(self, state, x_unl: Tensor, x_gen: Tensor, x_lab: Tensor | None, noise: list[Tensor]):
        """One copy's D outputs over ``[labeled, unlabeled, generated]`` (called under vmap); ``x_* [B, C, H, W]``,
        ``noise``: the copy's draws for D's pass. Logits ``[3B, K]`` (``[2B, K]`` without labels)."""
        batches = (x_unl, x_gen) if x_lab is None else (x_lab, x_unl, x_gen)
        return self.discriminator.functional(state, torch.cat(batches), noise=noise).logits

    def _discriminator_loss(self, logits: Tensor, y_lab: Tensor | None):
        """One copy's D loss and statistics from its logits ``[3B, K]`` (``[2B, K]``) and labels ``[B]``."""
        parts = in_loss_precision(logits).chunk(2 if y_lab is None else 3)
        logits_lab = parts[0] if y_lab is not None else None
        losses = ss.discriminator_loss(
            parts[-2], parts[-1], logits_lab=logits_lab, labels=y_lab,
            real_target=self.real_target, unsupervised_weight=self.config.unsupervised_weight,
        )  # fmt: skip
        stats = {"loss_unsup": losses.unsupervised, "loss_d": losses.total}
        if y_lab is not None:
            stats["loss_sup"] = losses.supervised
            stats["train_errors"] = ss.classification_errors(logits_lab, y_lab)
        return losses.total, stats

    def _per_copy(self, loss_of_copy, *per_copy: Tensor | None) -> tuple[Tensor, dict[str, Tensor]]:
        """``loss_of_copy`` on each copy's slice of ``per_copy`` (``[S, ...]`` each, or None): ``[S]`` losses and stats.

        The losses run copy by copy, outside vmap: their transcendental element-wise ops
        (softplus, log-sum-exp) would otherwise run once on ``[S, B]`` tensors, where ATen's
        CPU kernels compute most elements with SIMD functions and the last few (a tail set by
        the tensor's size) with scalar ones, which round differently; copy s's loss would
        then depend on S and on its place. Per copy it does not, and the loss heads are
        cheap against the networks' passes.
        """
        results = [loss_of_copy(*(None if t is None else t[s] for t in per_copy)) for s in range(self.size)]
        losses = torch.stack([loss for loss, _ in results])
        stats = {key: torch.stack([st[key] for _, st in results]) for key in results[0][1]}
        return losses, stats

    def discriminator_step(self, x_unl: Tensor, x_lab: Tensor | None, y_lab: Tensor | None) -> dict[str, Tensor]:
        """One Adam step on each copy's D loss. Shapes: ``x_* [S, B, C, H, W]``, ``y_lab [S, B]``."""
        z = self.sample_latent(x_unl.shape[1])  # [S, B, latent]
        with torch.no_grad():
            x_gen = self.generator(z, detach=True, noise=self._noise(self.generator, z))  # [S, B, C, H, W]
        batches = 2 if x_lab is None else 3
        rows = torch.empty(batches * x_unl.shape[1], *x_unl.shape[2:], dtype=x_unl.dtype, device="meta")
        noise = self._noise(self.discriminator, rows[None])  # D's pass over [labeled, unlabeled, generated]
        labels = 0 if x_lab is not None else None  # GAN mode: no labeled batch to map over
        run = torch.func.vmap(self._discriminator_outputs, in_dims=(0, 0, 0, labels, 0), randomness="error")
        logits = run(self.discriminator.state(), x_unl, x_gen, x_lab, noise)  # [S, 3B, K]
        loss, stats = self._per_copy(self._discriminator_loss, logits, y_lab)  # [S], {name: [S]}
        self.opt_d.zero_grad(set_to_none=True)
        loss.sum().backward()
        self.opt_d.step()
        self.ema.update(self.discriminator.params)
        return {name: value.detach() for name, value in stats.items()}

    # -- the generator ------------------------------------------------------------------------
    def _generator_outputs(self, g_state, d_state, z: Tensor, x_real: Tensor, noise: dict[str, list[Tensor]]):
        """One copy's D outputs for G's loss (called under vmap): ``z [B, latent]``, ``x_real [B, C, H, W]``;
        ``noise``: the copy's draws for G's pass and D's passes over the real (feature matching) and the
        generated batch. Feature matching: ``(f_real, f_gen)``, ``[B, F]`` each; else the logits ``[B, K]``."""
        x_gen = self.generator.functional(g_state, z, noise=noise["generator"])
        if self.config.generator_loss == "feature-matching":
            f_real = self.discriminator.functional(d_state, x_real, noise=noise["real"]).features.detach()
            return f_real, self.discriminator.functional(d_state, x_gen, noise=noise["generated"]).features
        return self.discriminator.functional(d_state, x_gen, noise=noise["generated"]).logits

    def _generator_loss(self, *outputs: Tensor) -> tuple[Tensor, dict]:
        """One copy's G loss from :meth:`_generator_outputs`' tensors (no statistics)."""
        if self.config.generator_loss == "feature-matching":
            f_real, f_gen = (in_loss_precision(f) for f in outputs)
            return feature_matching_loss(f_real, f_gen, distance=self.config.feature_matching_distance), {}
        logits_gen = in_loss_precision(outputs[0])
        if self.config.generator_loss == "saturating":
            return ss.generator_saturating_loss(logits_gen), {}
        return ss.generator_non_saturating_loss(logits_gen), {}

    def generator_step(self, x_real: Tensor) -> dict[str, Tensor]:
        """``generator_steps`` Adam steps on each copy's G; D gets no gradients. ``x_real [S, B, C, H, W]``."""
        run = torch.func.vmap(self._generator_outputs, randomness="error")
        d_state = self.discriminator.state(detach=True)
        for _ in range(self.config.generator_steps):
            z = self.sample_latent(x_real.shape[1])
            noise = {"generator": self._noise(self.generator, z)}  # each copy: z, then its passes' draws in order
            if self.config.generator_loss == "feature-matching":
                noise["real"] = self._noise(self.discriminator, x_real)
            noise["generated"] = self._noise(self.discriminator, x_real)  # G's output has x_real's shape
            outputs = run(self.generator.state(), d_state, z, x_real, noise)
            loss, _ = self._per_copy(self._generator_loss, *(outputs if isinstance(outputs, tuple) else (outputs,)))
            self.opt_g.zero_grad(set_to_none=True)
            loss.sum().backward()
            self.opt_g.step()
        return {"loss_g": loss.detach()}

    def _noise(self, network: StackedModule, inputs: Tensor) -> list[Tensor]:
        """Each copy's draws, from its own stream, for ``network``'s pass over ``inputs [S, ...]`` (one per copy)."""
        return network.draw_noise(self.latent_rngs, inputs[0])

    # -- state --------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The stacked state: a single step's keys, every tensor with a leading copy dimension."""
        return {"opt_d": self.opt_d.state_dict(), "opt_g": self.opt_g.state_dict(), "ema": self.ema.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.opt_d.load_state_dict(state["opt_d"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.ema.load_state_dict(state["ema"])

    def copy_state(self, index: int) -> dict[str, Any]:
        """Copy ``index``'s step state in a single run's format (``ReferenceStep.state_dict()``)."""
        if not 0 <= index < self.size:
            raise IndexError(f"expected a copy index in [0, {self.size}) (got {index})")
        return {
            "opt_d": _optimizer_copy(self.opt_d.state_dict(), index),
            "opt_g": _optimizer_copy(self.opt_g.state_dict(), index),
            "ema": {key: _row(value, index) for key, value in self.ema.state_dict().items()},
        }


def _row(value: Any, index: int) -> Any:
    """``value[index]`` for a stacked tensor; shared scalars (step counts) and non-tensors as they are."""
    if isinstance(value, Tensor) and value.dim() > 0:
        return value[index].clone()
    return value.clone() if isinstance(value, Tensor) else value


def _optimizer_copy(state: dict[str, Any], index: int) -> dict[str, Any]:
    """One copy of a stacked optimiser's ``state_dict`` (same parameter indices, same groups)."""
    per_param = {i: {key: _row(value, index) for key, value in slot.items()} for i, slot in state["state"].items()}
    return {"state": per_param, "param_groups": [dict(group) for group in state["param_groups"]]}
