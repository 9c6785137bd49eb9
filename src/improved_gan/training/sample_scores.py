"""Sample scores during and after training: the MNIST score and MNIST FD of the generator.

MNIST-family runs only, with the project's MNIST classifier
(:mod:`improved_gan.metrics.classifier`; ``improved-gan classifier train``
caches it). The classifier and the training set's reference statistics are
loaded once per run. Every ``epoch_score_every`` epochs the trainer scores
``epoch_score_samples`` samples (1,000 by default: cheap, and enough to follow
the trend; a Frechet distance from few samples is biased upwards, so compare
it only across epochs of the same run); at the end it scores
``final_score_samples`` (10,000) into ``scores.json``.

The samples come from fixed z (their own seeded generator, not the global
random state), so scoring does not change the training that follows it and a
resumed run still ends with the metrics of an uninterrupted one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from improved_gan.config import TrainConfig
from improved_gan.errors import UserError
from improved_gan.training.sampling import generate_images
from improved_gan.training.seeds import stream_seed
SCORED = ("mnist_score", "mnist_fd")  # the metrics of both, from the cached MNIST classifier


class SampleScorer:
    """Scores a run's generator with the cached MNIST classifier; inert for other datasets.

    Args:
        config: the run's config (dataset, data root, seed, pixel scale, batch size).
        device: where the classifier runs.
        log_message: called once with the reason when the scores cannot be computed
            (no cached classifier), after which the scorer stays silent and returns nothing.
    """

    def __init__(self, config: TrainConfig, device: torch.device, log_message: Callable[[str], None]) -> None:
        self.config = config
        self.device = device
        self.log_message = log_message
        self.enabled = config.dataset.startswith("mnist")
        self._classifier: nn.Module | None = None
        self._reference = None

    def _load(self) -> bool:
        if not self.enabled:
            return False
        if self._classifier is not None:
            return True
        with torch.random.fork_rng(devices=[]):  # loading must leave the training's random stream alone
            return self._load_once()

    def _load_once(self) -> bool:
        from improved_gan.metrics.classifier import load_classifier
        from improved_gan.metrics.reference import dataset_statistics
        from improved_gan.metrics.registry import MNIST_CLASSIFIER

        try:
            self._classifier = load_classifier()
        except UserError as err:  # no cached classifier: the run is fine, the scores wait
            self.enabled = False
            self.log_message(f"sample scores not computed: {err}")
            return False
        self._reference = dataset_statistics(
            MNIST_CLASSIFIER, self._classifier, self.config.dataset, split="train",
            data_dir=self.config.data_dir, device=self.device, progress=False,
        )  # fmt: skip
        return True

    def _samples(self, generator: nn.Module, n: int, seed: int):
        return generate_images(
            generator, n, scale=self.config.pixel_scale, seed=seed, batch_size=self.config.batch_size
        )

    def _scores(self, images) -> dict[str, float]:
        """MNIST score and FD of uint8 ``images`` with the loaded classifier and reference statistics."""
        from improved_gan.metrics.evaluate import evaluate_samples
        from improved_gan.metrics.registry import MNIST_CLASSIFIER

        return evaluate_samples(
            images, metrics=SCORED, reference={MNIST_CLASSIFIER: self._reference},
            networks={MNIST_CLASSIFIER: self._classifier}, device=self.device,
        )  # fmt: skip

    def epoch_scores(self, generator: nn.Module) -> dict[str, Any]:
        """``{"mnist_score_mean", "mnist_score_std", "mnist_fd"}`` of ``epoch_score_samples`` samples, or ``{}``."""
        n = self.config.epoch_score_samples
        if n <= 0 or not self._load():
            return {}
        scores = self._scores(self._samples(generator, n, stream_seed(self.config.seed, "epoch-scores")))
        return {key: round(value, 4) for key, value in scores.items()}

    def final_scores(self, generator: nn.Module, run_dir: Path) -> dict[str, Any]:
        """MNIST score and FD of ``final_score_samples`` samples, merged into ``run_dir/scores.json``."""
        n = self.config.final_score_samples
        if n <= 0 or not self._load():
            return {}
        from improved_gan.metrics.inception_score import DEFAULT_SPLITS
        from improved_gan.metrics.registry import MNIST_CLASSIFIER, resolve_metrics
        from improved_gan.training.run_dir import SCORES
        from improved_gan.training.run_scores import merge_run_scores, score_entries

        scores = self._scores(self._samples(generator, n, stream_seed(self.config.seed, "final-scores")))
        entries = score_entries(
            resolve_metrics(SCORED), scores, {MNIST_CLASSIFIER: self._classifier}, n=n, splits=DEFAULT_SPLITS,
            reference=f"{self.config.dataset}:train", seed=self.config.seed,
        )  # fmt: skip
        merge_run_scores(Path(run_dir) / SCORES, entries)
        score, fd = entries["mnist_score"], entries["mnist_fd"]
        self.log_message(
            f"MNIST score {score['mean']:.3f} +- {score['std']:.3f}, MNIST FD {fd['value']:.3f} ({n} samples)"
        )
        return entries
