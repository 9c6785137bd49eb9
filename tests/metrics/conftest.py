"""Fixtures for the metric tests: an Inception network with random weights of the right shapes."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from unittest import mock

import pytest
import torch
from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3


def _inception_state_shapes() -> dict[str, torch.Size]:
    """The state dict layout of torch-fidelity's Inception, read off a module built without any weights file."""
    with mock.patch("torch.load", return_value={}), mock.patch.object(FeatureExtractorInceptionV3, "load_state_dict"):
        skeleton = FeatureExtractorInceptionV3("skeleton", ["2048"], feature_extractor_weights_path="none")
    return {name: tensor.shape for name, tensor in skeleton.state_dict().items()}


def _random_state(shapes: dict[str, torch.Size], seed: int) -> dict[str, torch.Tensor]:
    """He-initialised convolutions, near-identity batch norms, a softmax layer with spread logits."""
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for name, shape in shapes.items():
        if name.endswith("num_batches_tracked"):
            state[name] = torch.zeros(shape, dtype=torch.long)
        elif name.endswith("running_var"):
            state[name] = 0.5 + torch.rand(shape, generator=gen)
        elif name.endswith("running_mean") or name.endswith("bn.bias"):
            state[name] = 0.1 * torch.randn(shape, generator=gen)
        elif name.endswith("bn.weight"):
            state[name] = 1.0 + 0.1 * torch.randn(shape, generator=gen)
        elif name == "fc.weight":
            state[name] = torch.randn(shape, generator=gen) * 4 / math.sqrt(shape[1])
        elif name == "fc.bias":
            state[name] = torch.randn(shape, generator=gen)
        else:  # a convolution's weight [out, in, kh, kw]
            fan_in = shape[1] * shape[2] * shape[3]
            state[name] = torch.randn(shape, generator=gen) * math.sqrt(2.0 / fan_in)
    return state


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def random_inception_weights(tmp_path_factory) -> tuple[Path, str]:
    """A weights file of random values in the real file's layout, and its sha256."""
    path = tmp_path_factory.mktemp("inception") / "random-inception.pth"
    torch.save(_random_state(_inception_state_shapes(), seed=0), path)
    return path, sha256_of(path)


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
