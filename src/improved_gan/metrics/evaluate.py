"""Score uint8 samples with registered metrics: the function the CLI and the trainer share.

>>> scores = evaluate_samples(images, metrics="mnist_score,mnist_fd", reference=real_images)  # doctest: +SKIP
>>> scores[KEY_MNIST_SCORE_MEAN], scores[KEY_MNIST_FD]                                       # doctest: +SKIP

Each scoring network runs once over the samples, however many of its metrics
are asked for; distances also run it over the reference images (or take their
statistics ready-made, e.g. from a cache).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import nn

from improved_gan.errors import UserError
from improved_gan.metrics.classifier import load_classifier
from improved_gan.metrics.feature_network import run_network
from improved_gan.metrics.frechet import FeatureStatistics, feature_statistics
from improved_gan.metrics.images import check_images
from improved_gan.metrics.inception import InceptionV3
from improved_gan.metrics.inception_formula import DEFAULT_SPLITS
from improved_gan.metrics.registry import INCEPTION, MNIST_CLASSIFIER, MNIST_SHAPE, default_metrics, resolve_metrics

__all__ = ["default_metrics", "evaluate_samples", "load_scoring_network", "network_statistics"]

def load_scoring_network(
    name: str,
    *,
    inception_weights: str | os.PathLike | None = None,
    download_weights: bool = False,
    classifier: str | os.PathLike | nn.Module | None = None,
) -> nn.Module:
    """The scoring network ``name`` (:data:`~improved_gan.metrics.registry.INCEPTION` or ``MNIST_CLASSIFIER``).

    Args:
        inception_weights, download_weights: see :class:`~improved_gan.metrics.inception.InceptionV3`.
        classifier: a classifier file, a loaded module, or ``None`` for the
            cached reference classifier.
    """
    if name == INCEPTION:
        return InceptionV3(inception_weights, download=download_weights)
    if name == MNIST_CLASSIFIER:
        return classifier if isinstance(classifier, nn.Module) else load_classifier(classifier)
    raise ValueError(f"unknown scoring network {name!r}")


def _check_fits(network_name: str, images: np.ndarray, what: str) -> None:
    if network_name == MNIST_CLASSIFIER and images.shape[1:] != MNIST_SHAPE:
        h, w, c = images.shape[1:]
        raise UserError(
            f"the MNIST classifier scores 28x28 grayscale digits, but the {what} are {w}x{h}x{c}; "
            "use --metrics is,fid for other images"
        )


def network_statistics(
    network: nn.Module, images: np.ndarray, *, batch_size: int = 100, device=None, progress: bool = False
) -> FeatureStatistics:
    """Mean and covariance of ``network``'s features over uint8 ``images`` (e.g. a reference set)."""
    outputs = run_network(network, images, batch_size=batch_size, device=device, progress=progress, desc="reference")
    return feature_statistics(outputs.features)


def evaluate_samples(
    images: np.ndarray,
    *,
    metrics: str | Sequence[str] | None = None,
    reference: np.ndarray | Mapping[str, FeatureStatistics] | None = None,
    splits: int = DEFAULT_SPLITS,
    device: torch.device | str | None = None,
    batch_size: int = 100,
    inception_weights: str | os.PathLike | None = None,
    download_weights: bool = False,
    classifier: str | os.PathLike | nn.Module | None = None,
    networks: Mapping[str, nn.Module] | None = None,
    progress: bool = False,
) -> dict[str, float]:
    """Scores of uint8 samples ``[N, H, W, C]``, keyed by the registry's result keys.

    Args:
        images: the samples, uint8 ``[N, H, W, C]``, C = 1 or 3.
        metrics: names (``"is,fid"`` or a sequence); default :func:`default_metrics`.
        reference: for distances (``fid``, ``mnist_fd``): uint8 reference
            images, or their statistics keyed by network name
            (:func:`network_statistics`).
        splits: splits of the split-based scores (``is``, ``mnist_score``); N >= splits.
        device: where networks run (default: CUDA when available, else CPU).
        batch_size: images per forward pass (does not change the result).
        inception_weights, download_weights: the Inception weights file
            (:class:`~improved_gan.metrics.inception.InceptionV3`).
        classifier: the MNIST classifier (file or module; default the cached reference).
        networks: already loaded scoring networks by name, reused as given
            (e.g. by a trainer scoring every epoch).
        progress: show progress bars.

    Returns:
        ``{key: value}`` for the keys of every requested metric, Python floats.

    Raises:
        UserError: bad images, unknown metrics, too few samples for ``splits``,
            a missing reference or network file, images the network cannot take.
    """
    images = check_images(images, what="samples")
    specs = resolve_metrics(metrics if metrics is not None else default_metrics(images.shape[1:]))
    reference = _check_inputs(specs, images, reference, splits)
    if device is None:
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    networks = dict(networks or {})
    results: dict[str, float] = {}
    for network_name in dict.fromkeys(spec.network for spec in specs):
        _check_fits(network_name, images, "samples")
        if network_name not in networks:
            networks[network_name] = load_scoring_network(
                network_name,
                inception_weights=inception_weights,
                download_weights=download_weights,
                classifier=classifier,
            )
        own = [spec for spec in specs if spec.network == network_name]
        results.update(_network_scores(own, networks[network_name], network_name, images, reference,
                                       splits=splits, batch_size=batch_size, device=device, progress=progress))
    return results


def _network_scores(specs, network: nn.Module, network_name: str, images: np.ndarray, reference, *, splits: int,
                    batch_size: int, device, progress: bool) -> dict[str, float]:
    """The scores of ``specs`` (all of one network): one pass over the samples, and one over the reference if needed."""
    outputs = run_network(network, images, batch_size=batch_size, device=device, progress=progress, desc=network_name)
    reference_stats = None
    if any(spec.needs_reference for spec in specs):
        reference_stats = _reference_statistics(reference, network_name, network, batch_size, device, progress)
    results: dict[str, float] = {}
    for spec in specs:
        values = spec.compute(outputs, splits=splits, reference=reference_stats)
        results.update({key: float(value) for key, value in values.items()})
    return results


def _check_inputs(specs, images: np.ndarray, reference, splits: int):
    """Enough samples for the splits, a reference where a metric compares (checked when given as images);
    returns the reference."""
    if any(not spec.needs_reference for spec in specs) and len(images) < splits:
        raise UserError(
            f"{len(images)} samples cannot be cut into {splits} splits; give more samples or fewer splits"
        )
    if any(spec.needs_reference for spec in specs):
        if reference is None:
            needing = ", ".join(spec.name for spec in specs if spec.needs_reference)
            raise UserError(f"{needing} compares with real images: give reference images (--reference SOURCE)")
        if isinstance(reference, np.ndarray):
            reference = check_images(reference, what="reference images")
        _check_enough_for_a_covariance(specs, images, reference)
    return reference


def _check_enough_for_a_covariance(specs, images: np.ndarray, reference) -> None:
    """A distance compares two covariances, and one image has none: at least 2 samples and 2 reference images."""
    needing = ", ".join(spec.name for spec in specs if spec.needs_reference)
    for what, count in (("samples", len(images)),
                        ("reference images", len(reference) if isinstance(reference, np.ndarray) else None)):
        if count is not None and count < 2:
            raise UserError(f"{needing} needs at least 2 {what} for a covariance (got {count}); give more")


def _reference_statistics(reference, network_name, network, batch_size, device, progress) -> FeatureStatistics:
    if isinstance(reference, np.ndarray):
        _check_fits(network_name, reference, "reference images")
        return network_statistics(network, reference, batch_size=batch_size, device=device, progress=progress)
    if network_name not in reference:
        have = ", ".join(reference) or "none"
        raise UserError(f"no reference statistics for the {network_name} network (have: {have})")
    return reference[network_name]
