r"""The ImageNet step: the authors' simultaneous update of D and G from one joint pass (Section 6.5).

The authors' ImageNet code (reference-setup.md, "ImageNet 128x128") updates
both players in the same step on the same batch: one generator pass, one
discriminator pass on ``[real; generated]``, then D's and G's gradients, both
taken from that one graph, are applied together. With ``s = LSE(logits)``
(:func:`~improved_gan.semi_supervised.log_partition`, the GAN logit):

.. math::

    L_D = \mathrm{BCE}(s_\text{real}, \alpha) + \mathrm{BCE}(s_\text{gen}, 0)
          + \mathrm{CE}_{K+1}(l_\text{real}, y), \qquad
    L_G = \mathrm{BCE}(s_\text{gen}, t)

with ``alpha = config.label_smoothing`` (0.75, one-sided smoothing, Section
3.4) and ``t = config.generator_target`` (0.375). The GAN terms are
:func:`~improved_gan.semi_supervised.discriminator_loss` with
``unsupervised_weight = 2`` (that loss averages its two GAN terms, the
authors' sums them; the preset sets the weight); with ``t = 1``, ``L_G`` is
:func:`~improved_gan.semi_supervised.generator_non_saturating_loss`. The class
term ``CE_{K+1}`` (``mode="supervised"``) is the authors': the softmax
cross-entropy of the real rows' labels over all ``K + 1 = 1001`` logits, the
generated class's included
(:func:`~improved_gan.models.imagenet.class_loss_over_all_logits`), not the
package's semi-supervised cross-entropy over the ``K`` class logits, which is
smaller by ``softplus(-s_real)``. The training errors are counted over the
``K + 1`` logits as well (the authors' ``in_top_k`` over ``class_logits``).
The authors' sigmoid losses subtract the target's entropy, a constant: the
logged ``loss_d`` and ``loss_g`` omit it, the gradients are the same.

How it fits the :class:`~improved_gan.training.steps.Step` contract: the
real batch is passed to both calls (the sources give the same tensor to
``x_unl``, ``x_lab`` and ``x_real``). :meth:`ImageNetStep.discriminator_step`
runs the joint pass, computes both gradients (``torch.autograd.grad``, before
either player moves) and applies D's; :meth:`ImageNetStep.generator_step`
applies G's gradient from that same pass. So the update is simultaneous, and
under ``torchrun`` each optimiser's step averages its own gradients over the
ranks (:func:`~improved_gan.training.distributed.average_gradients_before_step`).

A discriminator with :attr:`joint_batch` (the authors': cross batch norm and
joint minibatch features) is called once on ``torch.cat([real, generated])``
with ``num_real``; the DCGAN baseline's on the two batches apart. The authors'
discriminator groups the rows into towers of ``tower_size`` (16) real +
generated rows; each process's share of the batch must be a whole number of
towers, which the step checks at construction (a :class:`ConfigError`).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from improved_gan import semi_supervised as ss
from improved_gan.config import TrainConfig
from improved_gan.errors import ConfigError
from improved_gan.models.imagenet import class_loss_over_all_logits
from improved_gan.training.distributed import current
from improved_gan.training.ema import ExponentialMovingAverage
from improved_gan.training.steps.protocol import StepInfo, autocast_for, precision_name
from improved_gan.training.steps.reference import make_optimizer

__all__ = ["ImageNetStep", "generator_target_loss"]


def generator_target_loss(logits_gen: Tensor, target: float) -> Tensor:
    r"""``mean BCE(sigmoid(LSE(l(G(z)))), target)``: G pushed toward ``D(G(z)) = target``.

    The authors' ImageNet G loss with ``target = 0.375``; ``target = 1`` is the
    non-saturating ``-mean log D(G(z))``. Shape: ``[N, K] -> []``.
    """
    if target == 1.0:
        return ss.generator_non_saturating_loss(logits_gen)
    s = ss.log_partition(logits_gen, name="logits_gen")  # [N]
    return F.binary_cross_entropy_with_logits(s, torch.full_like(s, target))


def _check_towers(batch_size: int, tower_size: int | None, world_size: int) -> None:
    """Each process's ``batch_size / world_size`` real rows must be whole towers (a ConfigError otherwise)."""
    per_process = batch_size // world_size
    if tower_size and per_process % tower_size:
        where = f"over {world_size} processes" if world_size > 1 else "in one process"
        raise ConfigError(
            f"batch_size {batch_size} gives {per_process} real rows per process {where}, not a multiple of "
            f"the discriminator's towers of imagenet_tower={tower_size} (the authors' per-GPU batch); choose a "
            f"batch of {tower_size} x {world_size} x k, or set imagenet_tower"
        )


class ImageNetStep:
    """Optimisers and the EMA of D, and the simultaneous update of one iteration.

    Args:
        config: the run's configuration (``update="simultaneous"``).
        generator, discriminator: an :mod:`improved_gan.models.imagenet` pair (or any
            pair with the same contract), initialised, on one device.
        dtype: the matrix products' dtype: float32, or bfloat16 through autocast.
    """

    kind = "imagenet"

    def __init__(
        self,
        config: TrainConfig,
        generator: nn.Module,
        discriminator: nn.Module,
        *,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        precision_name(dtype)
        self.config = config
        self.generator = generator
        self.discriminator = discriminator
        self.info = StepInfo(self.kind, dtype, "simultaneous D and G updates from one joint pass")
        self.autocast = autocast_for(dtype, discriminator)
        self._d_params = [p for p in discriminator.parameters() if p.requires_grad]
        self._g_params = [p for p in generator.parameters() if p.requires_grad]
        self.opt_d = make_optimizer(config, self._d_params)
        self.opt_g = make_optimizer(config, self._g_params)
        self.ema = ExponentialMovingAverage(discriminator, rate=config.ema_rate)
        self.real_target = config.real_target
        self.joint = bool(getattr(discriminator, "joint_batch", False))
        _check_towers(config.batch_size, getattr(discriminator, "tower_size", None), current().world_size)
        self._pending: tuple[Tensor, tuple[Tensor, ...], Tensor] | None = None  # (x_real, G's grads, loss_g)

    def optimizers(self) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
        return self.opt_d, self.opt_g

    def set_lr(self, lr: float) -> None:
        for opt in (self.opt_d, self.opt_g):
            for group in opt.param_groups:
                group["lr"] = lr

    def average_discriminator_into(self, target: nn.Module) -> None:
        self.ema.copy_to(target, source=self.discriminator)

    # -- the joint pass -----------------------------------------------------------------
    def _logits(self, x_real: Tensor, x_gen: Tensor) -> tuple[Tensor, Tensor]:
        """D's logits of the real and the generated batch (float32), from one joint call when D has one."""
        n = len(x_real)
        with self.autocast():
            if self.joint:
                logits = self.discriminator(torch.cat([x_real, x_gen]), num_real=n).logits  # [2n, K]
                return logits[:n].float(), logits[n:].float()
            return self.discriminator(x_real).logits.float(), self.discriminator(x_gen).logits.float()

    def discriminator_step(self, x_unl: Tensor, x_lab: Tensor | None, y_lab: Tensor | None) -> dict[str, Tensor]:
        """The joint pass on ``x_unl`` (the real batch; ``x_lab`` is it or None) and D's update.

        Shapes: ``x_unl [b, 3, 128, 128]``, ``y_lab [b]`` (mode supervised) or None.
        """
        if x_lab is not None and x_lab is not x_unl:
            raise ValueError(
                "the ImageNet step trains on one real batch: pass the same tensor as x_unl and x_lab (or x_lab=None)"
            )
        x_real = x_unl
        z = self.generator.sample_latent(len(x_real)).to(x_real.device)  # [b, latent]
        with self.autocast():
            x_gen = self.generator(z).to(x_real.dtype)  # [b, 3, 128, 128], keeps its graph for G
        logits_real, logits_gen = self._logits(x_real, x_gen)  # [b, K] each
        losses = ss.discriminator_loss(
            logits_real, logits_gen, real_target=self.real_target, unsupervised_weight=self.config.unsupervised_weight
        )  # the GAN terms
        loss_d = losses.total
        if y_lab is not None:  # the class term over all K + 1 logits
            loss_class = class_loss_over_all_logits(logits_real, y_lab)
            loss_d = loss_d + loss_class
        loss_g = generator_target_loss(logits_gen, self.config.generator_target)
        # both gradients from the one graph, before either player moves
        grads_d = torch.autograd.grad(loss_d, self._d_params, retain_graph=True)
        grads_g = torch.autograd.grad(loss_g, self._g_params)
        for p, g in zip(self._d_params, grads_d):
            p.grad = g
        self.opt_d.step()
        self.opt_d.zero_grad(set_to_none=True)
        self.ema.update(self.discriminator)
        self._pending = (x_real, grads_g, loss_g.detach())
        stats = {"loss_d": loss_d.detach(), "loss_unsup": losses.unsupervised.detach()}
        if y_lab is not None:
            stats["loss_sup"] = loss_class.detach()
            with_generated = F.pad(logits_real.detach(), (0, 1))  # [b, K + 1], the generated class's logit 0
            stats["train_errors"] = ss.classification_errors(with_generated, y_lab)
        return stats

    def generator_step(self, x_real: Tensor) -> dict[str, Tensor]:
        """G's update with the gradient of the joint pass that :meth:`discriminator_step` just ran on ``x_real``."""
        if self._pending is None or self._pending[0] is not x_real:
            raise RuntimeError(
                "the ImageNet step's generator_step applies the gradient of the preceding discriminator_step: "
                "call discriminator_step first, with the same real batch"
            )
        _, grads_g, loss_g = self._pending
        self._pending = None
        for p, g in zip(self._g_params, grads_g):
            p.grad = g
        self.opt_g.step()
        self.opt_g.zero_grad(set_to_none=True)
        return {"loss_g": loss_g}

    # -- state -------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"opt_d": self.opt_d.state_dict(), "opt_g": self.opt_g.state_dict(), "ema": self.ema.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.opt_d.load_state_dict(state["opt_d"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.ema.load_state_dict(state["ema"])
