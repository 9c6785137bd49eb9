"""How the MNIST classifier behind the offline scores is trained: the recipe, with the reference's defaults.

Light to import (no torch): ``improved-gan classifier train`` checks ``--train-images`` against the recipe's
batch before torch is imported (docs/cli.md, Start-up). :func:`~improved_gan.metrics.classifier.train_classifier`
follows it.
"""

from __future__ import annotations

from dataclasses import dataclass

from improved_gan.errors import UserError

MNIST_TRAINING_IMAGES = 60_000
"""The MNIST training digits the classifier is trained on (all of them, unless ``--train-images``)."""


@dataclass(frozen=True)
class TrainingOptions:
    """How :func:`~improved_gan.metrics.classifier.train_classifier` trains; the defaults give the reference classifier."""

    epochs: int = 3             # passes over the training images
    batch_size: int = 128       # images per step (the last incomplete batch of an epoch is dropped)
    max_lr: float = 4e-3        # peak of Adam's one-cycle learning-rate schedule
    max_shift: int = 2          # random translations of up to this many pixels, per image and axis
    seed: int = 0               # weights, batch order, shifts and dropout

    def check_images(self, n: int, available: int) -> int:
        """``n``, the training images asked for, if from one batch to the ``available`` ones."""
        if not self.batch_size <= n <= available:
            raise UserError(f"--train-images must be from {self.batch_size} (one batch) to {available:,} (got {n})")
        return n


def is_shortened(options: TrainingOptions, train_images: int | None) -> bool:
    """Whether ``options`` and ``train_images`` (None: all) differ from the reference recipe."""
    return options != TrainingOptions() or train_images not in (None, MNIST_TRAINING_IMAGES)


def check_cache_takes(shortened: bool, out: object | None) -> None:
    """A shortened recipe's classifier is not written into the cache (``out`` None): the newest classifier there
    is the one every score uses."""
    if shortened and out is None:
        raise UserError("--epochs or --train-images shorten the recipe, and a shortened classifier scores "
                        "differently from the reference one: it is not put in the cache, where every score would "
                        "use it; name a file for it with --out")
