"""Sample-quality scores: the Inception score of Section 4, FID, and offline MNIST scores.

Layers, from the math outwards (docs/metrics.md):

* pure float64 functions: :func:`inception_score` (Section 4) and
  :func:`frechet_distance`;
* scoring networks: the 2015-12-05 Inception graph as ported by torch-fidelity
  (:mod:`.inception`) and the project's own MNIST classifier (:mod:`.classifier`);
* :mod:`.registry` (metrics by name, result keys) and :func:`evaluate_samples`,
  which the ``improved-gan score`` command and the trainer share.
"""

from improved_gan.utils.lazy import lazy_names

_HOMES = {
    "default_metrics": "registry", "evaluate_samples": "evaluate",
    "FeatureStatistics": "frechet", "feature_statistics": "frechet", "frechet_distance": "frechet",
    "check_images": "images",
    "SplitScore": "inception_formula", "inception_score": "inception_formula",
    "inception_score_from_logits": "inception_formula",
    "KEY_FID": "registry", "KEY_IS_MEAN": "registry", "KEY_IS_STD": "registry", "KEY_MNIST_FD": "registry",
    "KEY_MNIST_SCORE_MEAN": "registry", "KEY_MNIST_SCORE_STD": "registry", "METRICS": "registry",
}
"""Where each name of the package lives. They are imported on first use (``from improved_gan.metrics import
inception_score``), not with the package: ``improved-gan score`` checks metric names against
:mod:`~improved_gan.metrics.registry` without importing torch or scipy (docs/cli.md, Start-up)."""

__getattr__ = lazy_names(__name__, _HOMES)

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
