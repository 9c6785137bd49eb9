"""One training iteration: a discriminator update, then the generator's update(s).

The step owns the optimisers, the EMA of D and the historical averages, and
nothing about epochs, files or logging. Losses come from
:mod:`improved_gan.semi_supervised` and :mod:`improved_gan.techniques`; which ones
is decided by the config (so an ablation is a config, not a code path).
Returned statistics are detached tensors: the loop reads them only now and
then, so the step never waits on a device synchronisation.
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch
from torch import Tensor, nn

from improved_gan import semi_supervised as ss
from improved_gan.config import TrainConfig
from improved_gan.techniques import HistoricalAverage, feature_matching_loss
from improved_gan.training.ema import ExponentialMovingAverage
from improved_gan.training.optim import AuthorsAdam


def make_optimizer(config: TrainConfig, params: list[nn.Parameter]) -> torch.optim.Optimizer:
    """Adam with the config's rate and betas; eps 1e-8 inside the root (the authors') or outside (torch's)."""
    betas = (config.beta1, config.beta2)
    if config.optimizer == "adam-authors":
        return AuthorsAdam(params, lr=config.lr, betas=betas, eps=1e-8)
    return torch.optim.Adam(params, lr=config.lr, betas=betas, eps=1e-8, foreach=True)


def _has_cross_sample_layers(model: nn.Module) -> bool:
    """True when an example's output depends on the rest of its batch (e.g. minibatch features)."""
    return bool(getattr(model, "cross_sample", False))


class TrainStep:
    """Optimisers and averages for G and D, and the update rules of one iteration.

    Args:
        config: the run's configuration.
        generator, discriminator: the two players (already initialised).
        autocast: a context-manager factory for mixed precision (a no-op by default).
    """

    def __init__(
        self,
        config: TrainConfig,
        generator: nn.Module,
        discriminator: nn.Module,
        *,
        autocast=contextlib.nullcontext,
    ) -> None:
        self.config = config
        self.generator = generator
        self.discriminator = discriminator
        self.autocast = autocast
        self._d_trainable = self._trainable(discriminator)
        self.opt_d = make_optimizer(config, self._d_trainable)
        self.opt_g = make_optimizer(config, self._trainable(generator))
        self.ema = ExponentialMovingAverage(discriminator, rate=config.ema_rate)
        self.ha_d = self.ha_g = None
        if config.historical_averaging > 0:
            self.ha_d = HistoricalAverage(self._trainable(discriminator))
            self.ha_g = HistoricalAverage(self._trainable(generator))
        self.real_target = 1.0 if config.label_smoothing is None else config.label_smoothing
        self.separate_batches = _has_cross_sample_layers(discriminator)

    @staticmethod
    def _trainable(module: nn.Module) -> list[nn.Parameter]:
        return [p for p in module.parameters() if p.requires_grad]

    def set_lr(self, lr: float) -> None:
        for opt in (self.opt_d, self.opt_g):
            for group in opt.param_groups:
                group["lr"] = lr

    def sample_latent(self, n: int, device: torch.device) -> Tensor:
        """z ~ Uniform(0, 1)^latent_dim, as the authors draw it. Shape ``[n, latent_dim]``."""
        return torch.rand(n, self.config.latent_dim, device=device)

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
        z = self.sample_latent(len(x_unl), x_unl.device)
        with torch.no_grad(), self.autocast():
            x_gen = self.generator(z)
        with self.autocast():
            if x_lab is not None:
                out_lab, out_unl, out_gen = self._discriminate(x_lab, x_unl, x_gen.to(x_unl.dtype))
            else:
                out_unl, out_gen = self._discriminate(x_unl, x_gen.to(x_unl.dtype))
        # losses in float32 whatever the compute precision
        unsup = ss.unsupervised_loss(out_unl.logits.float(), out_gen.logits.float(), real_target=self.real_target)
        stats = {"loss_unsup": unsup.detach()}
        loss = self.config.unsupervised_weight * unsup
        if x_lab is not None:
            logits_lab = out_lab.logits.float()
            sup = ss.supervised_loss(logits_lab, y_lab)
            loss = loss + sup
            stats["loss_sup"] = sup.detach()
            stats["train_errors"] = (logits_lab.argmax(1) != y_lab).sum()
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
        z = self.sample_latent(len(x_real), x_real.device)
        with self.autocast():
            x_gen = self.generator(z).to(x_real.dtype)
            if self.config.generator_loss == "feature-matching":
                with torch.no_grad():
                    f_real = self.discriminator(x_real).features
                f_gen = self.discriminator(x_gen).features
            else:
                logits_gen = self.discriminator(x_gen).logits
        if self.config.generator_loss == "feature-matching":
            return feature_matching_loss(
                f_real.float(), f_gen.float(), distance=self.config.feature_matching_distance
            )
        if self.config.generator_loss == "saturating":
            return ss.generator_saturating_loss(logits_gen.float())
        return ss.generator_non_saturating_loss(logits_gen.float())

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
