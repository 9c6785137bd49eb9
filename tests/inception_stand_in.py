"""A stand-in for the Inception weights file: random values in the real file's layout (no real weights here).

The metric tests load it with its own sha256 (``InceptionV3(path, sha256=...)``); the training tests,
which reach the network through the trainer's own loading path (``$IMPROVED_GAN_INCEPTION_WEIGHTS``),
make the checksum check expect the stand-in's digest with :func:`trust_stand_in`.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from unittest import mock

import torch
from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3


def inception_state_shapes() -> dict[str, torch.Size]:
    """The state dict layout of torch-fidelity's Inception, read off a module built without any weights file."""
    with mock.patch("torch.load", return_value={}), mock.patch.object(FeatureExtractorInceptionV3, "load_state_dict"):
        skeleton = FeatureExtractorInceptionV3("skeleton", ["2048"], feature_extractor_weights_path="none")
    return {name: tensor.shape for name, tensor in skeleton.state_dict().items()}


def random_state(shapes: dict[str, torch.Size], seed: int) -> dict[str, torch.Tensor]:
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


def write_stand_in_weights(path: Path, *, seed: int = 0) -> str:
    """Save random Inception weights to ``path``; returns their sha256."""
    torch.save(random_state(inception_state_shapes(), seed=seed), path)
    return sha256_of(path)


def trust_stand_in(sha256: str, monkeypatch=None) -> None:
    """Make the weights check (``inception.verify_weights``) expect ``sha256`` instead of the published digest.

    With pytest's ``monkeypatch`` the change is undone after the test; without, it lasts for the process
    (a spawned rank of the distributed tests).
    """
    from improved_gan.metrics import inception

    real = inception.verify_weights

    def verify(path, **_):
        return real(path, sha256=sha256)

    if monkeypatch is None:
        inception.verify_weights = verify
    else:
        monkeypatch.setattr(inception, "verify_weights", verify)
