"""evaluate_samples and the metric registry, with a tiny MNIST classifier and a random Inception."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from improved_gan.errors import UserError
from improved_gan.metrics.evaluate import default_metrics, evaluate_samples, network_statistics
from improved_gan.metrics.feature_network import run_network
from improved_gan.metrics.frechet import feature_statistics, frechet_distance
from improved_gan.metrics.inception_formula import inception_score_from_logits
from improved_gan.metrics.registry import (
    INCEPTION,
    KEY_FID,
    KEY_IS_MEAN,
    KEY_IS_STD,
    KEY_MNIST_FD,
    KEY_MNIST_SCORE_MEAN,
    KEY_MNIST_SCORE_STD,
    METRICS,
    MNIST_CLASSIFIER,
    get_metric,
    resolve_metrics,
)


@pytest.fixture(scope="module")
def digits(mnist_small):
    """1,000 test digits as samples, 1,000 training digits as the reference."""
    return mnist_small.test[0], mnist_small.train[0][:1000]


def test_registry_names_keys_and_errors():
    assert set(METRICS) == {"is", "fid", "mnist_score", "mnist_fd"}
    assert get_metric("is").keys == (KEY_IS_MEAN, KEY_IS_STD)
    assert [m.name for m in resolve_metrics("mnist_fd, is,mnist_fd")] == ["mnist_fd", "is"]
    with pytest.raises(UserError, match="unknown metric 'inception'; valid metrics: fid, is, mnist_fd, mnist_score"):
        resolve_metrics("is,inception")
    with pytest.raises(UserError, match="no metric named"):
        resolve_metrics(" , ")


def test_default_metrics_follow_the_image_shape():
    assert default_metrics((28, 28, 1)) == ("mnist_score", "mnist_fd")
    assert default_metrics((32, 32, 3)) == ("is",)


def test_mnist_scores_equal_the_pure_functions_on_the_classifier_outputs(tiny_classifier, digits):
    samples, reference = digits
    scores = evaluate_samples(
        samples, metrics="mnist_score,mnist_fd", reference=reference, classifier=tiny_classifier, splits=5
    )
    assert set(scores) == {KEY_MNIST_SCORE_MEAN, KEY_MNIST_SCORE_STD, KEY_MNIST_FD}
    outputs = run_network(tiny_classifier, samples)  # the same batches as evaluate_samples: the same floats
    expected = inception_score_from_logits(outputs.logits, splits=5)
    # rel=1e-12 and 1e-9: the same float32 outputs on the same machine, so only float64 reordering
    # between the two callers can differ (~1e-16, FD's cancellation of ~200 included; see below)
    assert scores[KEY_MNIST_SCORE_MEAN] == pytest.approx(expected.mean, rel=1e-12)
    assert scores[KEY_MNIST_SCORE_STD] == pytest.approx(expected.std, rel=1e-12)
    a, b = feature_statistics(outputs.features), network_statistics(tiny_classifier, reference)
    assert scores[KEY_MNIST_FD] == pytest.approx(frechet_distance(a.mean, a.covariance, b.mean, b.covariance), rel=1e-9)


def test_real_digits_score_high_and_a_collapsed_generator_low(tiny_classifier, digits):
    samples, reference = digits
    real = evaluate_samples(samples, reference=reference, classifier=tiny_classifier)
    collapsed = evaluate_samples(np.repeat(samples[:1], 1000, axis=0), reference=reference, classifier=tiny_classifier)
    assert real[KEY_MNIST_SCORE_MEAN] > 5.0  # ten classes, fairly confidently (tiny classifier)
    assert collapsed[KEY_MNIST_SCORE_MEAN] == pytest.approx(1.0, abs=1e-9)
    assert collapsed[KEY_MNIST_FD] > 10 * real[KEY_MNIST_FD]


def test_reference_statistics_can_be_given_ready_made(tiny_classifier, digits):
    samples, reference = digits
    from_images = evaluate_samples(samples, metrics="mnist_fd", reference=reference, classifier=tiny_classifier)
    stats = {MNIST_CLASSIFIER: network_statistics(tiny_classifier, reference)}
    from_stats = evaluate_samples(samples, metrics="mnist_fd", reference=stats, classifier=tiny_classifier)
    assert from_stats == from_images
    with pytest.raises(UserError, match="no reference statistics for the mnist_classifier"):
        evaluate_samples(samples, metrics="mnist_fd", reference={}, classifier=tiny_classifier)


def test_batch_size_does_not_change_the_scores(tiny_classifier, digits):
    samples, reference = digits
    a = evaluate_samples(samples, reference=reference, classifier=tiny_classifier, batch_size=1000)
    b = evaluate_samples(samples, reference=reference, classifier=tiny_classifier, batch_size=37)
    # rel=1e-5: batches of 37 and of 1,000 give float32 features that differ by rounding (~1e-7 relative,
    # as two CPUs' kernels do). FD subtracts traces of ~100 to leave ~0.5 (a cancellation of ~200), so
    # that rounding reaches FD at <= 1e-5 (measured here: 5e-10; averaged over 1,000 images). Dropping
    # or counting twice one of the 1,000 images moves every score by >= 5e-4 relative (measured).
    for key in a:
        assert b[key] == pytest.approx(a[key], rel=1e-5)


def test_inception_metrics_with_random_weights(random_inception):
    images = np.random.default_rng(0).integers(0, 256, size=(4, 32, 32, 3), dtype=np.uint8)
    scores = evaluate_samples(
        images, metrics="is,fid", reference=images, splits=2, networks={INCEPTION: random_inception}
    )
    assert set(scores) == {KEY_IS_MEAN, KEY_IS_STD, KEY_FID}
    assert 1.0 <= scores[KEY_IS_MEAN] <= 1008
    assert scores[KEY_FID] == pytest.approx(0.0, abs=1e-3)  # the same images on both sides


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"images": np.zeros((5, 28, 28, 1), np.float32)}, "dtype uint8"),
        ({"images": np.zeros((5, 28, 28, 1), np.uint8), "splits": 10, "metrics": "mnist_score"}, "cut into 10"),
        ({"images": np.zeros((20, 28, 28, 1), np.uint8), "metrics": "mnist_fd"}, "mnist_fd compares with real images"),
        ({"images": np.zeros((20, 32, 32, 3), np.uint8), "metrics": "mnist_score"}, "28x28 grayscale.*32x32x3"),
        (
            {
                "images": np.zeros((20, 28, 28, 1), np.uint8),
                "metrics": "mnist_fd",
                "reference": np.zeros((5, 8, 8, 1), np.uint8),
            },
            "reference images are 8x8x1",
        ),
        ({"images": np.zeros((20, 28, 28, 1), np.uint8), "metrics": "fd"}, "valid metrics"),
    ],
)
def test_bad_input_is_one_clear_error(tiny_classifier, kwargs, message):
    images = kwargs.pop("images")
    with pytest.raises(UserError, match=message):
        evaluate_samples(images, classifier=tiny_classifier, **kwargs)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_scores_equal_cpu_scores(tiny_classifier, digits):
    samples, reference = digits
    on_cpu = evaluate_samples(samples, reference=reference, classifier=tiny_classifier, device="cpu")
    on_cuda = evaluate_samples(samples, reference=reference, classifier=tiny_classifier, device="cuda")
    tiny_classifier.to("cpu")
    for key in on_cpu:
        assert on_cuda[key] == pytest.approx(on_cpu[key], rel=1e-4)
