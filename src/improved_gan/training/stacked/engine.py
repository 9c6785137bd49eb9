"""The S-seed trainer: S copies of one experiment trained as one computation (issue 15).

:class:`StackedEngine` holds S copies of a preset's G and D
(:class:`~improved_gan.training.stacked.state.StackedModule`), the step that
updates them (:class:`~improved_gan.training.stacked.step.StackedStep`), one
shared copy of the data, and each copy's random streams:

* batch order: copy s's own NumPy generator, through
  :func:`~improved_gan.training.batches.epoch_plan`, seeded as a single run's;
* labeled subset: copy s's data seed;
* z: copy s's own torch generator, in the state a single run's global generator
  is in when its first step begins; with the noise layers at std 0 a copy
  therefore sees exactly the data and z of the single run of its seed;
* D's Gaussian noise: from copy s's z stream too, in the order the single run of
  seed s draws z and noise from its one global generator
  (:meth:`StackedModule.draw_noise <improved_gan.training.stacked.state.StackedModule.draw_noise>`).
  Nothing a copy draws depends on the other copies: seed s trains bit for bit
  the same alone, in any stack and at any place in it, and with the noise on
  the copy and the single run of seed s are one computation up to the order of
  floating-point reductions (docs/stacked.md measures how far apart).

The engine does not write run folders: :meth:`StackedEngine.copy_state` gives
copy s as a single run's checkpoint state (training/trainer.py, ``_state``), which
:func:`~improved_gan.runs.checkpoint.save_checkpoint` writes into that seed's
run folder, and :meth:`StackedEngine.unstack` gives its networks.
"""

from __future__ import annotations

import copy
import dataclasses
import time
from typing import Any, Iterator, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from improved_gan.config import TrainConfig
from improved_gan.semi_supervised import classification_errors
from improved_gan.errors import UserError
from improved_gan.training.batches import epoch_plan, iterations_per_epoch
from improved_gan.training.build import build_models
from improved_gan.training.experiment_data import ExperimentData, load_experiment_data
from improved_gan.training.stacked.copies import RunCopy, build_copy
from improved_gan.training.stacked.state import StackedModule
from improved_gan.training.stacked.step import StackedStep
from improved_gan.utils.eval_mode import eval_mode
from improved_gan.training.stacked.support import (
    available_memory,
    check_memory,
    check_same_experiment,
    check_supported,
    estimate_memory,
)

__all__ = ["STEP_KIND", "StackedEngine", "copy_configs"]

STEP_KIND = "stacked"  # what a copy's checkpoint records as its step (``step_info``)


def copy_configs(config: TrainConfig, seeds: Sequence[int]) -> list[TrainConfig]:
    """``config`` once per seed (``seed`` replaced; a ``data_seed`` left as given is shared)."""
    return [dataclasses.replace(config, seed=int(seed)).validate() for seed in seeds]


class StackedEngine:
    """S seeds of one experiment, trained as one batched computation.

    Args:
        copies: the S copies' starting points, from :func:`build_copy` (one per seed).
        data: the experiment's data, shared by all copies (the copies differ in their
            labeled subsets, which index this pool).
        device: where the copies live (that of ``data``).

    Most callers use :meth:`build`. Per epoch, :meth:`run_epoch` returns one metrics
    row per copy with the keys a single run's row has for the training losses.

    Example::

        >>> config = get_preset("mnist-fm")
        >>> engine = StackedEngine.build(config, seeds=range(10))     # [10, *shape] per tensor
        >>> for epoch in range(config.epochs):
        ...     rows = engine.run_epoch(lr=learning_rate(config, epoch))
        >>> state = engine.copy_state(3)      # seed 3's checkpoint state
    """

    def __init__(self, copies: Sequence[RunCopy], data: ExperimentData, *, device: torch.device) -> None:
        copies = list(copies)
        if not copies:
            raise ValueError("expected at least one copy to train")
        configs = [c.config for c in copies]
        check_supported(configs[0])
        check_same_experiment(configs)
        self.configs = configs
        self.config = configs[0]
        self.device = torch.device(device)
        self.data = data
        self.generator = StackedModule([c.generator for c in copies])
        self.discriminator = StackedModule([c.discriminator for c in copies])
        self.step = StackedStep(self.config, self.generator, self.discriminator, [c.latent_rng for c in copies])
        self.numpy_rngs = [c.numpy_rng for c in copies]
        self.labeled_indices = [c.labeled_indices for c in copies]
        self.host_rng_states = [c.host_rng_state for c in copies]
        self.epoch = 0
        self.histories: list[list[dict[str, Any]]] = [[] for _ in copies]

    @classmethod
    def build(
        cls,
        config: TrainConfig,
        seeds: Sequence[int],
        *,
        data: ExperimentData | None = None,
        device: torch.device | str = "cpu",
        memory_available: int | None = None,
    ) -> "StackedEngine":
        """S = ``len(seeds)`` copies of ``config``, each built as a single run of that seed builds it.

        Checks first, before any allocation: the configuration is supported, and S copies
        fit in ``memory_available`` bytes (default: what the device has free).
        """
        device = torch.device(device)
        seeds = [int(seed) for seed in seeds]
        if not seeds or len(set(seeds)) != len(seeds):
            raise UserError(f"a stack needs one or more distinct seeds (got {seeds})")
        configs = copy_configs(config, seeds)
        check_supported(configs[0])
        needed = estimate_memory(configs[0], len(configs), **_mnist_sizes(configs[0]))
        available = available_memory(device) if memory_available is None else memory_available
        check_memory(needed, len(configs), available, device=device)
        data = load_experiment_data(configs[0], device=device) if data is None else data
        return cls([build_copy(c, data, device=device) for c in configs], data, device=device)

    @property
    def size(self) -> int:
        return self.generator.size

    @property
    def seeds(self) -> list[int]:
        return [c.seed for c in self.configs]

    # -- training -----------------------------------------------------------------------------
    def plan_epoch(self) -> tuple[Tensor, Tensor, Tensor | None]:
        """Each copy's batches for one epoch, from its own batch-order generator.

        Returns ``(unlabeled, unlabeled_fm, labeled)`` index tensors ``[iterations, S, B]`` on the
        device (``labeled`` None in GAN mode).
        """
        config, data = self.config, self.data
        iterations = iterations_per_epoch(len(data.x_unlabeled), config.batch_size, config.iters_per_epoch)
        plans = [
            epoch_plan(
                rng,
                num_unlabeled=len(data.x_unlabeled),
                labeled_indices=labeled,
                batch_size=config.batch_size,
                iterations=iterations,
            )
            for rng, labeled in zip(self.numpy_rngs, self.labeled_indices)
        ]

        def stacked(parts: list[np.ndarray]) -> Tensor:
            return torch.from_numpy(np.stack(parts, axis=1)).to(self.device)  # [iterations, S, B]

        labeled = None if plans[0].labeled is None else stacked([p.labeled for p in plans])
        return stacked([p.unlabeled for p in plans]), stacked([p.unlabeled_fm for p in plans]), labeled

    def train_iterations(self, unlabeled: Tensor, unlabeled_fm: Tensor, labeled: Tensor | None) -> dict[str, Tensor]:
        """One iteration per row of the ``[iterations, S, B]`` index tensors; returns summed ``[S]`` statistics."""
        x, y = self.data.x_unlabeled, self.data.y_unlabeled
        totals: dict[str, Tensor] = {}
        for i in range(len(unlabeled)):
            x_lab = y_lab = None
            if labeled is not None:
                x_lab, y_lab = x[labeled[i]], y[labeled[i]]  # [S, B, C, H, W], [S, B]
            stats = self.step.discriminator_step(x[unlabeled[i]], x_lab, y_lab)
            stats.update(self.step.generator_step(x[unlabeled_fm[i]]))
            for key, value in stats.items():
                totals[key] = totals.get(key, 0) + value.float()
        return totals

    def run_epoch(self, lr: float, *, evaluate: bool = True) -> list[dict[str, Any]]:
        """Train every copy one epoch at learning rate ``lr``; one metrics row per copy, appended to its history.

        A row has a single run's keys for the epoch, iterations, lr, the mean losses, the
        training error rate and (``evaluate``, semi-supervised) the EMA discriminator's test
        errors; ``seconds`` is the stack's wall time (shared by the copies).
        """
        self.step.set_lr(lr)
        started = time.perf_counter()
        plan = self.plan_epoch()
        iterations = len(plan[0])
        totals = self.train_iterations(*plan)
        seconds = time.perf_counter() - started
        self.epoch += 1
        errors = self.evaluate() if evaluate and self.config.mode == "semi-supervised" else None
        rows = []
        for s in range(self.size):
            row: dict[str, Any] = {"epoch": self.epoch, "iterations": iterations, "lr": lr}
            row.update({key: float(value[s]) / iterations for key, value in totals.items()})
            if "train_errors" in row:
                row["train_error_rate"] = row.pop("train_errors") / self.config.batch_size
            if errors is not None:
                n = len(self.data.y_test)
                row.update({"test_errors": int(errors[0][s]), "test_examples": n,
                            "test_error_rate": int(errors[0][s]) / n, "test_errors_raw": int(errors[1][s])})
            row["seconds"] = round(seconds, 3)
            self.histories[s].append(row)
            rows.append(row)
        return rows

    # -- evaluation ---------------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self) -> tuple[Tensor, Tensor]:
        """Test errors of each copy's EMA discriminator and of its current one: two ``[S]`` int tensors."""
        with eval_mode(self.discriminator.template):
            _, buffers = self.discriminator.state()
            averaged = dict(zip(self.discriminator.names, self.step.ema.shadow))
            current, _ = self.discriminator.state(detach=True)
            return self._count_errors(averaged, buffers), self._count_errors(current, buffers)

    def _count_errors(self, params: dict[str, Tensor], buffers: dict[str, Tensor]) -> Tensor:
        """``[S]`` misclassified test examples for the stacked D ``(params, buffers)`` (template in eval mode)."""
        x_test, y_test = self.data.x_test, self.data.y_test
        run = torch.func.vmap(self.discriminator.functional, in_dims=(0, None))
        count = torch.func.vmap(classification_errors, in_dims=(0, None))
        errors = torch.zeros(self.size, dtype=torch.long, device=self.device)
        for start in range(0, len(x_test), self.config.eval_batch_size):
            x = x_test[start : start + self.config.eval_batch_size]
            logits = run((params, buffers), x).logits  # [S, n, K]
            errors += count(logits, y_test[start : start + len(x)])  # [S]
        return errors.cpu()

    # -- copies as single runs ------------------------------------------------------------------
    def unstack(self, index: int) -> tuple[nn.Module, nn.Module]:
        """Copy ``index``'s ``(generator, discriminator)`` as ordinary modules, in training mode."""
        return self.generator.unstack(index), self.discriminator.unstack(index)

    def copy_state(self, index: int) -> dict[str, Any]:
        """Copy ``index`` as a single run's checkpoint state (training/trainer.py ``_state``, same keys).

        ``step_info`` records the stacked step in float32: a single run resumed from this state
        continues with its own step, which the trainer treats as a change of step kind.

        ``rng["torch"]`` is the copy's z stream (a single run's global generator state; on
        CUDA ``rng["cuda"]``, and ``rng["torch"]`` the CPU state after initialisation, which a
        single run on CUDA does not draw from again), ``rng["numpy"]`` its batch-order
        generator's state, so that a single run resumed from this state continues the
        copy's streams.
        """
        if not 0 <= index < self.size:
            raise IndexError(f"expected a copy index in [0, {self.size}) (got {index})")
        config = self.configs[index]
        latent = self.step.latent_rngs[index].get_state()
        cuda = self.device.type == "cuda"
        rng = {"torch": self.host_rng_states[index] if cuda else latent,
               "numpy": self.numpy_rngs[index].bit_generator.state}
        if cuda:
            rng["cuda"] = latent
        return {
            "epoch": self.epoch,
            "config": config.to_dict(),
            "image_shape": self.data.image_shape,
            "num_classes": self.data.num_classes,
            "generator": self.generator.copy_state(index),
            "discriminator": self.discriminator.copy_state(index),
            "step": self.step.copy_state(index),
            "step_info": {"step": STEP_KIND, "precision": "fp32"},
            "rng": rng,
            "history": [dict(row) for row in self.histories[index]],
        }

    # -- the stack's own state (exact resume of a stacked run) ----------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything that moves, stacked: networks, step, every random stream, epoch, histories (a copy).

        Each copy's noise comes from its z stream (``latent_rngs``); a state saved before that
        (with a ``noise_rng`` of the whole stack) loads, and its copies go on drawing their own noise.
        """
        return {
            "seeds": self.seeds,
            "epoch": self.epoch,
            "generator": [p.detach().clone() for p in self.generator.params],
            "discriminator": [p.detach().clone() for p in self.discriminator.params],
            "step": copy.deepcopy(self.step.state_dict()),  # a snapshot: the live moments change in place
            "latent_rngs": [rng.get_state() for rng in self.step.latent_rngs],
            "numpy_rngs": [rng.bit_generator.state for rng in self.numpy_rngs],
            "histories": [[dict(row) for row in h] for h in self.histories],
        }

    @torch.no_grad()
    def load_state_dict(self, state: dict[str, Any]) -> None:
        if list(state["seeds"]) != self.seeds:
            raise ValueError(f"expected the state of seeds {self.seeds} (got {list(state['seeds'])})")
        for target, source in zip(self.generator.params, state["generator"]):
            target.copy_(source)
        for target, source in zip(self.discriminator.params, state["discriminator"]):
            target.copy_(source)
        self.step.load_state_dict(state["step"])
        for rng, rng_state in zip(self.step.latent_rngs, state["latent_rngs"]):
            rng.set_state(rng_state)
        for rng, rng_state in zip(self.numpy_rngs, state["numpy_rngs"]):
            rng.bit_generator.state = rng_state
        self.epoch = int(state["epoch"])
        self.histories = [[dict(row) for row in h] for h in state["histories"]]


def _mnist_sizes(config: TrainConfig) -> dict[str, tuple[int, int]]:
    """Parameter counts and layer widths of one copy of the MNIST MLPs, from a storage-free build."""
    with torch.random.fork_rng(devices=[]):
        generator, discriminator = build_models(
            config, image_shape=(1, 28, 28), num_classes=10, device=torch.device("meta")
        )
    params = tuple(sum(p.numel() for p in m.parameters()) for m in (generator, discriminator))
    g_width = config.latent_dim + sum(generator.hidden_sizes) + 784
    d_width = 784 + sum(discriminator.hidden_sizes) + discriminator.num_classes
    return {"parameters": params, "widths": (g_width, d_width)}
