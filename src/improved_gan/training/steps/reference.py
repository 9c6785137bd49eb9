"""The reference step: one iteration as autograd computes it, the readable specification.

A discriminator update, then the generator's update(s), with the losses of
:mod:`improved_gan.semi_supervised` and :mod:`improved_gan.techniques`; which
ones is decided by the config (so an ablation is a config, not a code path).
It fulfils :class:`~improved_gan.training.steps.protocol.Step`; every other
step is held equal to it by the tests.
"""

from __future__ import annotations

import functools
from typing import Any

import torch
from torch import Tensor, nn

from improved_gan import semi_supervised as ss
from improved_gan.config import TrainConfig
from improved_gan.techniques import HistoricalAverage, feature_matching_loss
from improved_gan.training.distributed import DistributedContext
from improved_gan.training.ema import ExponentialMovingAverage
from improved_gan.training.global_batch import global_mean, use_global_batch
from improved_gan.training.optim import AuthorsAdam
from improved_gan.training.steps.protocol import StepInfo, autocast_for


def make_optimizer(config: TrainConfig, params: list[nn.Parameter]) -> torch.optim.Optimizer:
    """Adam with the config's rate and betas; eps 1e-8 inside the root (the authors') or outside (torch's)."""
    betas = (config.beta1, config.beta2)
    if config.optimizer == "adam-authors":
        return AuthorsAdam(params, lr=config.lr, betas=betas, eps=1e-8)
    return torch.optim.Adam(params, lr=config.lr, betas=betas, eps=1e-8, foreach=True)


def in_loss_precision(x: Tensor) -> Tensor:
    """``x`` in float32 at least: bfloat16 outputs are cast up, float32 and float64 kept as they are."""
    return x.to(torch.promote_types(x.dtype, torch.float32))


def _player_dtype(dtype: torch.dtype, config: TrainConfig, player: str) -> torch.dtype:
    """The products' dtype of one player: ``dtype``, unless ``config.bf16_players`` keeps this one in float32."""
    return dtype if config.bf16_players in ("both", player) else torch.float32


def _has_cross_sample_layers(model: nn.Module) -> bool:
    """True when an example's output depends on the rest of its batch (e.g. minibatch features)."""
    return bool(getattr(model, "cross_sample", False))


class ReferenceStep:
    """Optimisers and averages for G and D, and the update rules of one iteration.

    Args:
        config: the run's configuration.
        generator, discriminator: the two players (already initialised, on one device).
        dtype: the matrix products' dtype: float32, or bfloat16 through autocast
            (master weights, optimiser state and losses stay float32). With bfloat16,
            ``config.bf16_players`` says whose products use it (``"both"``, or only the
            ``"generator"``'s or the ``"discriminator"``'s; the other's stay float32).
    """

    kind = "reference"

    def __init__(
        self,
        config: TrainConfig,
        generator: nn.Module,
        discriminator: nn.Module,
        *,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        self.config = config
        self.generator = generator
        self.discriminator = discriminator
        self.info = StepInfo(self.kind, dtype)
        self.autocast_g = autocast_for(_player_dtype(dtype, config, "generator"), generator)
        self.autocast_d = autocast_for(_player_dtype(dtype, config, "discriminator"), discriminator)
        self._d_trainable = self._trainable(discriminator)
        self.opt_d = make_optimizer(config, self._d_trainable)
        self.opt_g = make_optimizer(config, self._trainable(generator))
        self.ema = ExponentialMovingAverage(discriminator, rate=config.ema_rate)
        self.ha_d = self.ha_g = None
        if config.historical_averaging > 0:
            self.ha_d = HistoricalAverage(self._trainable(discriminator))
            self.ha_g = HistoricalAverage(self._trainable(generator))
        self.real_target = config.real_target
        self.separate_batches = _has_cross_sample_layers(discriminator)
        self.batch_mean = None  # feature matching's mean over the batch (None: this process's rows)

    def use_global_batch(self, context: DistributedContext) -> None:
        """Under data parallelism, compute what one process of the global batch computes (docs/distributed.md).

        G's batch norms and D's minibatch layers take their statistics over every rank's
        rows, and feature matching matches the global batch's means
        (:mod:`improved_gan.training.global_batch`). Call once, before the first iteration.
        """
        for model in (self.generator, self.discriminator):
            use_global_batch(model, context)
        self.batch_mean = functools.partial(global_mean, context=context) if context.enabled else None

    @staticmethod
    def _trainable(module: nn.Module) -> list[nn.Parameter]:
        return [p for p in module.parameters() if p.requires_grad]

    def set_lr(self, lr: float) -> None:
        for opt in (self.opt_d, self.opt_g):
            for group in opt.param_groups:
                group["lr"] = lr

    def average_discriminator_into(self, target: nn.Module) -> None:
        self.ema.copy_to(target, source=self.discriminator)

    def optimizers(self) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
        return self.opt_d, self.opt_g

    # -- the discriminator --------------------------------------------------------------
    def _discriminate(self, *batches: Tensor):
        """D's outputs for each batch: one concatenated pass unless D mixes examples."""
        if self.separate_batches:
            return [self.discriminator(x) for x in batches]
        out = self.discriminator(torch.cat(batches))
        sizes = [len(x) for x in batches]
        return [type(out)(*parts) for parts in zip(*(t.split(sizes) for t in out))]

    def discriminator_step(self, x_unl: Tensor, x_lab: Tensor | None, y_lab: Tensor | None) -> dict[str, Tensor]:
        """One Adam step on D's loss. Shapes: ``x_* [B, C, H, W]``, ``y_lab [B]``."""
        z = self.generator.sample_latent(len(x_unl))
        with torch.no_grad(), self.autocast_g():
            x_gen = self.generator(z)
        with self.autocast_d():
            if x_lab is not None:
                out_lab, out_unl, out_gen = self._discriminate(x_lab, x_unl, x_gen.to(x_unl.dtype))
            else:
                out_unl, out_gen = self._discriminate(x_unl, x_gen.to(x_unl.dtype))
        # losses in float32 whatever the compute precision
        logits_lab = in_loss_precision(out_lab.logits) if x_lab is not None else None
        losses = ss.discriminator_loss(
            in_loss_precision(out_unl.logits), in_loss_precision(out_gen.logits), logits_lab=logits_lab, labels=y_lab,
            real_target=self.real_target, unsupervised_weight=self.config.unsupervised_weight,
        )  # fmt: skip
        stats = {"loss_unsup": losses.unsupervised.detach()}
        loss = losses.total
        if x_lab is not None:
            stats["loss_sup"] = losses.supervised.detach()
            stats["train_errors"] = ss.classification_errors(logits_lab.detach(), y_lab)
        if self.ha_d is not None:
            loss = loss + self.config.historical_averaging * self.ha_d.penalty()
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_d.step()
        if self.ha_d is not None:
            self.ha_d.update()
        self.ema.update(self.discriminator)
        stats["loss_d"] = loss.detach()
        return stats

    # -- the generator ------------------------------------------------------------------
    def generator_loss(self, x_real: Tensor) -> Tensor:
        """G's objective on a fresh z batch (``len(x_real)`` samples)."""
        z = self.generator.sample_latent(len(x_real))
        with self.autocast_g():
            x_gen = self.generator(z).to(x_real.dtype)
        with self.autocast_d():
            if self.config.generator_loss == "feature-matching":
                with torch.no_grad():
                    f_real = self.discriminator(x_real).features
                f_gen = self.discriminator(x_gen).features
            else:
                logits_gen = self.discriminator(x_gen).logits
        if self.config.generator_loss == "feature-matching":
            return feature_matching_loss(
                in_loss_precision(f_real), in_loss_precision(f_gen), distance=self.config.feature_matching_distance,
                batch_mean=self.batch_mean,
            )
        if self.config.generator_loss == "saturating":
            return ss.generator_saturating_loss(in_loss_precision(logits_gen))
        return ss.generator_non_saturating_loss(in_loss_precision(logits_gen))

    def generator_step(self, x_real: Tensor) -> dict[str, Tensor]:
        """``generator_steps`` Adam steps on G; D's parameters get no gradients."""
        for p in self._d_trainable:
            p.requires_grad_(False)
        try:
            for _ in range(self.config.generator_steps):
                loss = self.generator_loss(x_real)
                if self.ha_g is not None:
                    loss = loss + self.config.historical_averaging * self.ha_g.penalty()
                self.opt_g.zero_grad(set_to_none=True)
                loss.backward()
                self.opt_g.step()
                if self.ha_g is not None:
                    self.ha_g.update()
        finally:
            for p in self._d_trainable:
                p.requires_grad_(True)
        return {"loss_g": loss.detach()}

    # -- state -------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        state = {
            "opt_d": self.opt_d.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "ema": self.ema.state_dict(),
        }
        if self.ha_d is not None:
            state["ha_d"], state["ha_g"] = self.ha_d.state_dict(), self.ha_g.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.opt_d.load_state_dict(state["opt_d"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.ema.load_state_dict(state["ema"])
        if self.ha_d is not None:
            self.ha_d.load_state_dict(state["ha_d"])
            self.ha_g.load_state_dict(state["ha_g"])
