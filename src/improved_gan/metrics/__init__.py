"""Sample-quality scores: the Inception score of Section 4, FID, and offline MNIST scores.

Layers, from the math outwards (docs/metrics.md):

* pure float64 functions: :func:`inception_score` (Section 4) and
  :func:`frechet_distance`;
* feature networks: the 2015-12-05 Inception graph as ported by torch-fidelity
  (:mod:`.inception`) and the project's own MNIST classifier (:mod:`.classifier`);
* :mod:`.registry` (metrics by name) and :func:`evaluate_samples`, which the
  ``improved-gan score`` command and the trainer share.
"""

from improved_gan.metrics.frechet import FeatureStatistics, feature_statistics, frechet_distance
from improved_gan.metrics.images import check_images
from improved_gan.metrics.inception_score import SplitScore, inception_score, inception_score_from_logits

__all__ = [
    "FeatureStatistics",
    "SplitScore",
    "check_images",
    "feature_statistics",
    "frechet_distance",
    "inception_score",
    "inception_score_from_logits",
]
