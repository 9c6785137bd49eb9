"""Fixtures for the metric tests: an Inception network with random weights of the right shapes."""

from __future__ import annotations

from pathlib import Path

import pytest
from inception_stand_in import write_stand_in_weights


@pytest.fixture(scope="session")
def random_inception_weights(tmp_path_factory) -> tuple[Path, str]:
    """A weights file of random values in the real file's layout, and its sha256."""
    path = tmp_path_factory.mktemp("inception") / "random-inception.pth"
    return path, write_stand_in_weights(path, seed=0)


@pytest.fixture(scope="session")
def random_inception(random_inception_weights):
    """:class:`InceptionV3` loaded from the random weights file through the real loading path."""
    from improved_gan.metrics.inception import InceptionV3

    path, sha256 = random_inception_weights
    return InceptionV3(path, sha256=sha256)


class MnistSmall:
    """3,000 MNIST training digits and 1,000 test digits (the real files)."""

    def __init__(self, root: Path) -> None:
        from improved_gan.data import load_dataset

        train = load_dataset("mnist", root=root, split="train")
        test = load_dataset("mnist", root=root, split="test")
        self.train = (train.images[:3000], train.labels[:3000])
        self.test = (test.images[:1000], test.labels[:1000])


@pytest.fixture(scope="session")
def mnist_small(shared_data) -> MnistSmall:
    return MnistSmall(shared_data)


@pytest.fixture(scope="session")
def tiny_classifier(mnist_small):
    """A narrow MNIST classifier trained for a few seconds (about 96% test accuracy, MNIST score about 7)."""
    from improved_gan.metrics.classifier import MnistClassifier, TrainingOptions, train_classifier

    images, labels = mnist_small.train
    options = TrainingOptions(epochs=2, batch_size=50, max_lr=1e-2)
    model = MnistClassifier(width=8, feature_dim=32)
    return train_classifier(images, labels, options=options, model=model, progress=False)
