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
        self.real_target = 1.0 if config.label_smoothing is None else config.label_smoothing

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
    def _discriminator_loss(self, state, x_unl: Tensor, x_gen: Tensor, x_lab: Tensor | None, y_lab: Tensor | None):
        """One copy's D loss and statistics (called under vmap). Shapes: ``x_* [B, C, H, W]``, ``y_lab [B]``."""
        batches = (x_unl, x_gen) if x_lab is None else (x_lab, x_unl, x_gen)
        out = self.discriminator.functional(state, torch.cat(batches))  # logits [3B, K], features [3B, F]
        parts = out.split([len(x) for x in batches])
        out_unl, out_gen = parts[-2:]
        # losses in float32 whatever the compute precision, as the reference step
        logits_lab = parts[0].logits.float() if x_lab is not None else None
        losses = ss.discriminator_loss(
            out_unl.logits.float(), out_gen.logits.float(), logits_lab=logits_lab, labels=y_lab,
            real_target=self.real_target, unsupervised_weight=self.config.unsupervised_weight,
        )  # fmt: skip
        stats = {"loss_unsup": losses.unsupervised, "loss_d": losses.total}
        if x_lab is not None:
            stats["loss_sup"] = losses.supervised
            stats["train_errors"] = ss.classification_errors(logits_lab, y_lab)
        return losses.total, stats

    def discriminator_step(self, x_unl: Tensor, x_lab: Tensor | None, y_lab: Tensor | None) -> dict[str, Tensor]:
        """One Adam step on each copy's D loss. Shapes: ``x_* [S, B, C, H, W]``, ``y_lab [S, B]``."""
        z = self.sample_latent(x_unl.shape[1])  # [S, B, latent]
        with torch.no_grad():
            x_gen = self.generator(z, detach=True)  # [S, B, C, H, W]
        labels = 0 if x_lab is not None else None  # GAN mode: no labeled batch to map over
        run = torch.func.vmap(self._discriminator_loss, in_dims=(0, 0, 0, labels, labels), randomness="different")
        loss, stats = run(self.discriminator.state(), x_unl, x_gen, x_lab, y_lab)  # [S], {name: [S]}
        self.opt_d.zero_grad(set_to_none=True)
        loss.sum().backward()
        self.opt_d.step()
        self.ema.update(self.discriminator.params)
        return {name: value.detach() for name, value in stats.items()}

    # -- the generator ------------------------------------------------------------------------
    def _generator_loss(self, g_state, d_state, z: Tensor, x_real: Tensor) -> Tensor:
        """One copy's G loss (called under vmap): ``z [B, latent]``, ``x_real [B, C, H, W]``."""
        x_gen = self.generator.functional(g_state, z)
        if self.config.generator_loss == "feature-matching":
            f_real = self.discriminator.functional(d_state, x_real).features.detach()
            f_gen = self.discriminator.functional(d_state, x_gen).features
            return feature_matching_loss(f_real.float(), f_gen.float(), distance=self.config.feature_matching_distance)
        logits_gen = self.discriminator.functional(d_state, x_gen).logits.float()
        if self.config.generator_loss == "saturating":
            return ss.generator_saturating_loss(logits_gen)
        return ss.generator_non_saturating_loss(logits_gen)

    def generator_step(self, x_real: Tensor) -> dict[str, Tensor]:
        """``generator_steps`` Adam steps on each copy's G; D gets no gradients. ``x_real [S, B, C, H, W]``."""
        run = torch.func.vmap(self._generator_loss, randomness="different")
        d_state = self.discriminator.state(detach=True)
        for _ in range(self.config.generator_steps):
            z = self.sample_latent(x_real.shape[1])
            loss = run(self.generator.state(), d_state, z, x_real)  # [S]
            self.opt_g.zero_grad(set_to_none=True)
            loss.sum().backward()
            self.opt_g.step()
        return {"loss_g": loss.detach()}

    # -- state --------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The stacked state: a single step's keys, every tensor with a leading copy dimension."""
        return {"opt_d": self.opt_d.state_dict(), "opt_g": self.opt_g.state_dict(), "ema": self.ema.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.opt_d.load_state_dict(state["opt_d"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.ema.load_state_dict(state["ema"])

    def copy_state(self, index: int) -> dict[str, Any]:
        """Copy ``index``'s step state in a single run's format (``TrainStep.state_dict()``)."""
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
