"""Sample-quality scores: the Inception score of Section 4, FID, and offline MNIST scores.

Layers, from the math outwards (docs/metrics.md):

* pure float64 functions: :func:`inception_score` (Section 4) and
  :func:`frechet_distance`;
* scoring networks: the 2015-12-05 Inception graph as ported by torch-fidelity
  (:mod:`.inception`) and the project's own MNIST classifier (:mod:`.classifier`);
* :mod:`.registry` (metrics by name, result keys) and :func:`evaluate_samples`,
  which the ``improved-gan score`` command and the trainer share.
"""

from improved_gan.metrics.evaluate import default_metrics, evaluate_samples
from improved_gan.metrics.frechet import FeatureStatistics, feature_statistics, frechet_distance
from improved_gan.metrics.images import check_images
from improved_gan.metrics.inception_score import SplitScore, inception_score, inception_score_from_logits
from improved_gan.metrics.registry import (
    KEY_FID,
    KEY_IS_MEAN,
    KEY_IS_STD,
    KEY_MNIST_FD,
    KEY_MNIST_SCORE_MEAN,
    KEY_MNIST_SCORE_STD,
    METRICS,
)

__all__ = [
    "FeatureStatistics",
    "KEY_FID",
    "KEY_IS_MEAN",
    "KEY_IS_STD",
    "KEY_MNIST_FD",
    "KEY_MNIST_SCORE_MEAN",
    "KEY_MNIST_SCORE_STD",
    "METRICS",
    "SplitScore",
    "check_images",
    "default_metrics",
    "evaluate_samples",
    "feature_statistics",
    "frechet_distance",
    "inception_score",
    "inception_score_from_logits",
]
