"""Sample scores during and after training: the MNIST score and FD, or the Inception score.

Which scores a run gets depends on its data (:func:`scoring_plan`):

- MNIST-family runs: the MNIST score and MNIST FD with the project's MNIST
  classifier (:mod:`improved_gan.metrics.classifier`; ``improved-gan classifier
  train`` caches it), against the training set's statistics;
- ImageNet runs (``dataset="imagenet-folder"``): the Inception score (Section 4)
  with the 2015-12-05 Inception graph (:mod:`improved_gan.metrics.inception`),
  when its weights file is present (``$IMPROVED_GAN_INCEPTION_WEIGHTS``, else
  torch's cache); no FID (it would need the statistics of the ImageNet folder);
- other datasets: none (score a run with ``improved-gan score RUN``).

The scoring network is loaded once, at the start of the run
(:meth:`SampleScorer.prepare`). When it cannot be (no cached classifier, no
Inception weights), the run says so in one line, on the terminal and in its
log, and trains on without scores: a missing scoring network never stops a
run, whoever asked for the scores; ``improved-gan score RUN`` scores its
checkpoint later. Every ``epoch_score_every`` epochs the trainer scores
``epoch_score_samples`` samples (1,000 by default: cheap, and enough to follow
the trend; a Frechet distance from few samples is biased upwards and an
Inception score downwards, so compare them only across epochs of the same run);
at the end it scores ``final_score_samples`` (10,000) into ``scores.json``.

The samples come from fixed z (their own seeded generator, not the global
random state) and the generator's own noise (the ImageNet G's noise channels)
is drawn inside a forked random state, so scoring does not change the training
that follows it and a resumed run still ends with the metrics of an
uninterrupted one. Under ``torchrun`` only rank 0 makes a scorer; the other
ranks meanwhile wait in the next epoch's first gradient all-reduce (no barrier
of its own: seconds for 1,000 samples, against the process group's timeout of
10 minutes or more).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from improved_gan.config import IMAGE_FOLDER, TrainConfig
from improved_gan.errors import UserError
from improved_gan.runs.layout import SCORES
from improved_gan.training.sampling import generate_images
from improved_gan.training.seeds import stream_seed


@dataclass(frozen=True)
class ScoringPlan:
    """What a run is scored with: a scoring network, its metrics, and the reference of the distances."""

    network: str
    metrics: tuple[str, ...]
    reference_split: str | None = None  # the dataset split the distances compare with (None: no distance)


SCORE_LABELS = {"mnist_score": "MNIST score", "mnist_fd": "MNIST FD", "is": "Inception score", "fid": "FID"}
"""How the log names each metric."""


def scoring_plan(config: TrainConfig) -> ScoringPlan | None:
    """The sample scores a run of ``config`` computes while it trains (module docstring), or None."""
    # the metrics package loads scipy, torch-fidelity and torchvision: only when a run scores (also below)
    from improved_gan.metrics.registry import INCEPTION, MNIST_CLASSIFIER

    if config.dataset.startswith("mnist"):
        return ScoringPlan(MNIST_CLASSIFIER, ("mnist_score", "mnist_fd"), reference_split="train")
    if config.dataset == IMAGE_FOLDER:
        return ScoringPlan(INCEPTION, ("is",))
    return None


def load_inception_for_training() -> nn.Module:
    """The Inception network, or a UserError saying in one line where its weights file is looked for."""
    from improved_gan.metrics.inception import (  # heavy: see scoring_plan
        INCEPTION_WEIGHTS_BYTES,
        INCEPTION_WEIGHTS_ENV,
        INCEPTION_WEIGHTS_FILENAME,
        InceptionV3,
        default_weights_path,
        resolve_inception_weights,
    )

    try:
        path = resolve_inception_weights()
    except UserError:
        where = os.environ.get(INCEPTION_WEIGHTS_ENV) or str(default_weights_path())
        raise UserError(
            f"no Inception weights at {where} ({INCEPTION_WEIGHTS_FILENAME}, {INCEPTION_WEIGHTS_BYTES:,} bytes; "
            f"set ${INCEPTION_WEIGHTS_ENV}=FILE or put the file there; `improved-gan score --help` says where "
            "to get it)"
        ) from None
    return InceptionV3(path)  # verifies size and sha256 (a UserError of its own)


class SampleScorer:
    """Scores a run's generator with its :func:`scoring_plan`; inert when the plan is None or scores are off.

    Args:
        config: the run's config (dataset, data root, seed, pixel scale, batch size, score settings).
        device: where the scoring network runs.
        log_message: called once with the reason when the scores cannot be computed
            (no cached classifier, no Inception weights), after which the scorer stays
            silent and returns nothing.
    """

    def __init__(self, config: TrainConfig, device: torch.device, log_message: Callable[[str], None]) -> None:
        self.config = config
        self.device = device
        self.log_message = log_message
        self.plan = scoring_plan(config)
        wanted = (config.epoch_score_every > 0 and config.epoch_score_samples > 0) or config.final_score_samples > 0
        self.enabled = self.plan is not None and wanted
        self._network: nn.Module | None = None
        self._reference = None

    def prepare(self) -> bool:
        """Load the scoring network now (the start of a run); False, having said why once, when it cannot."""
        return self._load()

    def _load(self) -> bool:
        if not self.enabled:
            return False
        if self._network is not None:
            return True
        with torch.random.fork_rng(devices=[]):  # loading must leave the training's random stream alone
            try:
                self._load_once()
            except UserError as err:  # no scoring network: the run is fine, the scores wait
                self.enabled = False
                self.log_message(f"sample scores not computed, training goes on without them: {err}")
                return False
        return True

    def _load_once(self) -> None:
        from improved_gan.metrics.registry import INCEPTION, MNIST_CLASSIFIER  # heavy: see scoring_plan

        if self.plan.network == INCEPTION:
            self._network = load_inception_for_training()
            return
        from improved_gan.metrics.classifier import load_classifier  # heavy: see scoring_plan
        from improved_gan.metrics.reference import dataset_statistics

        classifier = load_classifier()
        self._reference = dataset_statistics(
            MNIST_CLASSIFIER, classifier, self.config.dataset, split=self.plan.reference_split,
            data_dir=self.config.data_dir, device=self.device, progress=False,
        )  # fmt: skip
        self._network = classifier

    def _scores(self, generator: nn.Module, n: int, stream: str) -> dict[str, float]:
        """The plan's scores of ``n`` samples of ``generator`` from the fixed z of ``stream``."""
        from improved_gan.metrics.evaluate import evaluate_samples  # heavy: see scoring_plan

        cuda = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=cuda):  # the generator's noise layers draw from the global stream
            images = generate_images(
                generator, n, scale=self.config.pixel_scale, seed=stream_seed(self.config.seed, stream),
                batch_size=self.config.batch_size,
            )  # fmt: skip
        reference = None if self._reference is None else {self.plan.network: self._reference}
        return evaluate_samples(
            images, metrics=self.plan.metrics, reference=reference, networks={self.plan.network: self._network},
            device=self.device,
        )  # fmt: skip

    def epoch_scores(self, generator: nn.Module) -> dict[str, Any]:
        """The plan's result keys (``mnist_score_mean``, ``inception_score_mean``, ...) of
        ``epoch_score_samples`` samples, or ``{}``."""
        n = self.config.epoch_score_samples
        if n <= 0 or not self._load():
            return {}
        scores = self._scores(generator, n, "epoch-scores")
        return {key: round(value, 4) for key, value in scores.items()}

    def final_scores(self, generator: nn.Module, run_dir: Path) -> dict[str, Any]:
        """The plan's scores of ``final_score_samples`` samples, merged into ``run_dir/scores.json``."""
        n = self.config.final_score_samples
        if n <= 0 or not self._load():
            return {}
        from improved_gan.metrics.inception_formula import DEFAULT_SPLITS  # heavy: see scoring_plan
        from improved_gan.metrics.registry import resolve_metrics
        from improved_gan.runs.scores import merge_run_scores, score_entries  # imports the metrics

        scores = self._scores(generator, n, "final-scores")
        split = self.plan.reference_split
        entries = score_entries(
            resolve_metrics(self.plan.metrics), scores, {self.plan.network: self._network}, n=n,
            splits=DEFAULT_SPLITS, reference=f"{self.config.dataset}:{split}" if split else None,
            seed=self.config.seed,
        )  # fmt: skip
        merge_run_scores(Path(run_dir) / SCORES, entries)
        described = [
            f"{SCORE_LABELS[name]} {e['mean']:.3f} +- {e['std']:.3f}" if "mean" in e
            else f"{SCORE_LABELS[name]} {e['value']:.3f}"
            for name, e in entries.items()
        ]  # fmt: skip
        self.log_message(f"{', '.join(described)} ({n} samples)")
        return entries
