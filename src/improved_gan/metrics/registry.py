"""Sample-quality metrics by name: what network each needs and how it turns outputs into numbers.

==============  ==================  ==================================================
name            network             result keys
==============  ==================  ==================================================
``is``          inception           :data:`KEY_IS_MEAN`, :data:`KEY_IS_STD`
``fid``         inception           :data:`KEY_FID` (needs reference images)
``mnist_score`` mnist_classifier    :data:`KEY_MNIST_SCORE_MEAN`, :data:`KEY_MNIST_SCORE_STD`
``mnist_fd``    mnist_classifier    :data:`KEY_MNIST_FD` (needs reference images)
==============  ==================  ==================================================

A metric is a small function ``compute(outputs, *, splits, reference)`` of the
network's outputs on the samples (:class:`NetworkOutput`, NumPy) and, for a
distance, the reference's :class:`FeatureStatistics`; :func:`register_metric`
adds one, :func:`register_split_score` and :func:`register_frechet` the two
kinds above for a new network. ``improved-gan score`` and the trainer both go through this table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

from improved_gan.errors import UserError
from improved_gan.metrics.frechet import FeatureStatistics, feature_statistics, frechet_distance

if TYPE_CHECKING:  # torch: the table is read (names checked) before torch is imported (docs/cli.md, Start-up)
    from improved_gan.metrics.feature_network import NetworkOutput

__all__ = [
    "INCEPTION",
    "KEY_FID",
    "KEY_IS_MEAN",
    "KEY_IS_STD",
    "KEY_MNIST_FD",
    "KEY_MNIST_SCORE_MEAN",
    "KEY_MNIST_SCORE_STD",
    "METRICS",
    "MNIST_CLASSIFIER",
    "MNIST_SHAPE",
    "MetricSpec",
    "default_metrics",
    "get_metric",
    "register_frechet",
    "register_metric",
    "register_split_score",
    "resolve_metrics",
]

# -- result keys ----------------------------------------------------------------------------------
KEY_IS_MEAN = "inception_score_mean"
KEY_IS_STD = "inception_score_std"
KEY_FID = "fid"
KEY_MNIST_SCORE_MEAN = "mnist_score_mean"
KEY_MNIST_SCORE_STD = "mnist_score_std"
KEY_MNIST_FD = "mnist_fd"

# -- scoring networks -----------------------------------------------------------------------------
INCEPTION = "inception"
"""The 2015-12-05 Inception graph (:class:`~improved_gan.metrics.inception.InceptionV3`)."""
MNIST_CLASSIFIER = "mnist_classifier"
"""The project's MNIST classifier (:class:`~improved_gan.metrics.classifier.MnistClassifier`)."""

Compute = Callable[..., dict[str, float]]


@dataclass(frozen=True)
class MetricSpec:
    """One registered metric.

    Args:
        name: the registry key (``--metrics`` on the command line).
        description: one line for ``--help`` and docs.
        network: which scoring network's outputs it reads.
        keys: the result keys ``compute`` returns.
        needs_reference: whether it compares with reference images (a distance).
        compute: ``compute(outputs, *, splits, reference) -> {key: value}``.
    """

    name: str
    description: str
    network: str
    keys: tuple[str, ...]
    needs_reference: bool
    compute: Compute


_METRICS: dict[str, MetricSpec] = {}
METRICS = MappingProxyType(_METRICS)
"""Registered metrics by name (read-only view)."""


def register_metric(
    name: str, *, network: str, keys: Sequence[str], description: str, needs_reference: bool = False
) -> Callable[[Compute], Compute]:
    """Decorator adding ``compute`` to :data:`METRICS` under ``name``."""

    def add(compute: Compute) -> Compute:
        if name in _METRICS:
            raise ValueError(f"metric {name!r} is already registered")
        _METRICS[name] = MetricSpec(name, description, network, tuple(keys), needs_reference, compute)
        return compute

    return add


def get_metric(name: str) -> MetricSpec:
    """The metric called ``name``; an unknown name lists the valid ones."""
    spec = _METRICS.get(name)
    if spec is None:
        raise UserError(f"unknown metric {name!r}; valid metrics: {', '.join(sorted(_METRICS))}")
    return spec


def resolve_metrics(names: str | Sequence[str]) -> list[MetricSpec]:
    """Metrics from a comma-separated string or a sequence of names, duplicates dropped, order kept."""
    if isinstance(names, str):
        names = [part.strip() for part in names.split(",")]
    names = [name for name in names if name]
    if not names:
        raise UserError(f"no metric named; valid metrics: {', '.join(sorted(_METRICS))}")
    return [get_metric(name) for name in dict.fromkeys(names)]


MNIST_SHAPE = (28, 28, 1)
"""The ``(H, W, C)`` of the images the MNIST classifier scores."""


def default_metrics(image_shape: Sequence[int]) -> tuple[str, ...]:
    """``("mnist_score", "mnist_fd")`` for 28x28 grayscale images, ``("is",)`` (the paper's score) otherwise. Light,
    as the table: ``score`` chooses them before torch, from a shape read from headers (source_shapes.py)."""
    return ("mnist_score", "mnist_fd") if tuple(image_shape) == MNIST_SHAPE else ("is",)


def register_split_score(name: str, *, network: str, mean_key: str, std_key: str, description: str) -> None:
    """Register the Inception score's formula (Section 4) on ``network``'s softmax, as ``name``."""

    def compute(outputs: NetworkOutput, *, splits: int, reference: FeatureStatistics | None) -> dict[str, float]:
        from improved_gan.metrics.inception_formula import inception_score_from_logits  # scipy: see the imports

        score = inception_score_from_logits(outputs.logits, splits=splits)
        return {mean_key: score.mean, std_key: score.std}

    register_metric(name, network=network, keys=(mean_key, std_key), description=description)(compute)


def register_frechet(name: str, *, network: str, key: str, description: str) -> None:
    """Register the Frechet distance of the samples' ``network`` features to the reference's, as ``name``."""

    def compute(outputs: NetworkOutput, *, splits: int, reference: FeatureStatistics) -> dict[str, float]:
        samples = feature_statistics(outputs.features)
        return {key: frechet_distance(samples.mean, samples.covariance, reference.mean, reference.covariance)}

    register_metric(name, network=network, keys=(key,), needs_reference=True, description=description)(compute)


register_split_score(
    "is", network=INCEPTION, mean_key=KEY_IS_MEAN, std_key=KEY_IS_STD,
    description="Inception score (Section 4): exp E KL(p(y|x) || p(y)) with the 2015-12-05 Inception graph",
)  # fmt: skip
register_frechet(
    "fid", network=INCEPTION, key=KEY_FID,
    description="Frechet Inception distance to reference images, on the graph's 2048 pool_3 features",
)  # fmt: skip
register_split_score(
    "mnist_score", network=MNIST_CLASSIFIER, mean_key=KEY_MNIST_SCORE_MEAN, std_key=KEY_MNIST_SCORE_STD,
    description="the Inception score's formula on the project's MNIST classifier (offline; at most 10)",
)  # fmt: skip
register_frechet(
    "mnist_fd", network=MNIST_CLASSIFIER, key=KEY_MNIST_FD,
    description="Frechet distance to reference images in the MNIST classifier's 128 penultimate features",
)  # fmt: skip
