"""The Inception network of Section 4: torch-fidelity's port of the 2015-12-05 graph.

The paper's scores come from ``inception-2015-12-05.tgz`` (TensorFlow): images
of 0..255, resized bilinearly to 299x299 as TensorFlow 1.x resizes (no
half-pixel offset), scaled by ``(x - 128) / 128``; the score's logits are
pool_3 (2048 features) times the softmax weights, *without* the bias, over 1008
classes. torch-fidelity's :class:`FeatureExtractorInceptionV3` reproduces that
graph in PyTorch (its feature ``"logits_unbiased"`` and TF-exact resize; about
1e-3 relative agreement with TensorFlow). This module wraps it: it finds and
verifies the weights file, accepts grayscale (repeated to three channels) and
returns logits and pool features together.

Weights (:data:`INCEPTION_WEIGHTS_FILENAME`) are looked for, in order: the
``weights_path`` argument (``--weights``), ``$IMPROVED_GAN_INCEPTION_WEIGHTS``,
then torch-fidelity's own download location (``torch.hub.get_dir()/checkpoints``).
They are downloaded there only when asked (``download=True``,
``--download-weights``), as torch-fidelity would; otherwise a missing file is
one :class:`~improved_gan.errors.UserError` saying how to get it. Every file
is checked against the published size and SHA-256 before it is loaded.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import torch
from torch import Tensor, nn
from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3, FeatureExtractorInceptionV3

from improved_gan.errors import UserError
from improved_gan.metrics.feature_network import NetworkOutput

__all__ = [
    "INCEPTION_FEATURES",
    "INCEPTION_WEIGHTS_BYTES",
    "INCEPTION_WEIGHTS_ENV",
    "INCEPTION_WEIGHTS_FILENAME",
    "INCEPTION_WEIGHTS_SHA256",
    "INCEPTION_WEIGHTS_URL",
    "InceptionV3",
    "default_weights_path",
    "resolve_inception_weights",
    "verify_weights",
]

INCEPTION_WEIGHTS_FILENAME = "weights-inception-2015-12-05-6726825d.pth"
INCEPTION_WEIGHTS_URL = URL_INCEPTION_V3
"""torch-fidelity's release asset (v0.2.0) holding :data:`INCEPTION_WEIGHTS_FILENAME`."""
INCEPTION_WEIGHTS_SHA256 = "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2"
"""SHA-256 of the weights file; its first 8 hex digits are the ``6726825d`` in the file name."""
INCEPTION_WEIGHTS_BYTES = 95_628_359
"""Size of the weights file in bytes."""
INCEPTION_WEIGHTS_ENV = "IMPROVED_GAN_INCEPTION_WEIGHTS"
"""Environment variable naming the weights file when no path is given."""

INCEPTION_FEATURES = ("logits_unbiased", "2048")
"""torch-fidelity feature names: the Inception score's logits (no bias) and pool_3."""

_CHUNK = 1 << 20


def default_weights_path() -> Path:
    """Where torch-fidelity's own download puts the weights: ``torch.hub.get_dir()/checkpoints/``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_WEIGHTS_FILENAME


def _how_to_obtain() -> str:
    return (
        f"The Inception score and FID need {INCEPTION_WEIGHTS_FILENAME} ({INCEPTION_WEIGHTS_BYTES:,} bytes, "
        f"sha256 {INCEPTION_WEIGHTS_SHA256}), torch-fidelity's port of the 2015-12-05 Inception graph the "
        f"paper used. Download it from {INCEPTION_WEIGHTS_URL} (pytorch-fid's pt_inception-2015-12-05-6726825d.pth "
        f"has the same sha256), then pass --weights FILE, set {INCEPTION_WEIGHTS_ENV}=FILE, or put it at "
        f"{default_weights_path()}; with internet access, --download-weights fetches it there. "
        "Without it, score MNIST samples offline with --metrics mnist_score,mnist_fd."
    )


def resolve_inception_weights(weights_path: str | os.PathLike | None = None, *, download: bool = False) -> Path:
    """The weights file to use (module docstring for the search order), downloading if asked.

    Does not verify the file; :func:`verify_weights` does.

    Raises:
        UserError: the given path does not exist, or no file is found and
            ``download`` is false (the message says how to obtain it).
    """
    if weights_path is not None or os.environ.get(INCEPTION_WEIGHTS_ENV):
        given = Path(weights_path if weights_path is not None else os.environ[INCEPTION_WEIGHTS_ENV]).expanduser()
        origin = "--weights" if weights_path is not None else f"${INCEPTION_WEIGHTS_ENV}"
        if given.is_dir():
            raise UserError(f"Inception weights file {given} (from {origin}) is a folder; name the .pth file in "
                            f"it. {_how_to_obtain()}")
        if not given.is_file():
            raise UserError(f"Inception weights file {given} (from {origin}) does not exist. {_how_to_obtain()}")
        return given
    cached = default_weights_path()
    if cached.is_file():
        return cached
    if not download:
        raise UserError(f"Inception weights not found. {_how_to_obtain()}")
    cached.parent.mkdir(parents=True, exist_ok=True)
    try:
        torch.hub.download_url_to_file(INCEPTION_WEIGHTS_URL, str(cached), hash_prefix=INCEPTION_WEIGHTS_SHA256[:8])
    except (OSError, RuntimeError) as err:  # URLError is an OSError; a hash mismatch is a RuntimeError
        raise UserError(f"could not download the Inception weights ({err}). {_how_to_obtain()}") from None
    return cached


def verify_weights(path: str | os.PathLike, *, sha256: str = INCEPTION_WEIGHTS_SHA256, size: int | None = None) -> Path:
    """Check a weights file's size (when given) and SHA-256; raise one :class:`UserError` if either differs."""
    path = Path(path)
    actual_size = path.stat().st_size
    if size is not None and actual_size != size:
        raise UserError(
            f"Inception weights file {path} has {actual_size:,} bytes, expected {size:,} "
            f"(truncated download or a different file). {_how_to_obtain()}"
        )
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    if digest.hexdigest() != sha256:
        raise UserError(
            f"Inception weights file {path} has sha256 {digest.hexdigest()}, expected {sha256} "
            f"(a corrupt or different file: torchvision's ImageNet Inception weights give different scores). "
            f"{_how_to_obtain()}"
        )
    return path


class InceptionV3(nn.Module):
    r"""The 2015-12-05 Inception graph (torch-fidelity's port), frozen, on uint8 images.

    Salimans et al. (2016), Section 4: the network behind the Inception score.

    Args:
        weights_path: the weights file; ``None`` searches as the module
            docstring says.
        download: fetch the weights to torch-fidelity's location if not found.
        sha256: the checksum the file must have (the published one; only a
            test with weights of its own making passes another).

    Shape:
        - Input: uint8 ``[N, C, H, W]``, C = 3 (RGB) or 1 (grayscale, repeated to
          RGB); any H, W (resized to 299x299 as TensorFlow 1.x does).
        - Output: :class:`NetworkOutput` with ``logits`` ``[N, 1008]`` (pool_3
          times the softmax weights, no bias) and ``features`` ``[N, 2048]``
          (pool_3), float32.

    Example::

        >>> net = InceptionV3()                               # doctest: +SKIP
        >>> out = net(torch.zeros(2, 3, 32, 32, dtype=torch.uint8))
        >>> out.logits.shape, out.features.shape
        (torch.Size([2, 1008]), torch.Size([2, 2048]))
    """

    def __init__(
        self,
        weights_path: str | os.PathLike | None = None,
        *,
        download: bool = False,
        sha256: str = INCEPTION_WEIGHTS_SHA256,
    ) -> None:
        super().__init__()
        path = resolve_inception_weights(weights_path, download=download)
        official = sha256 == INCEPTION_WEIGHTS_SHA256
        self.weights_path = verify_weights(path, sha256=sha256, size=INCEPTION_WEIGHTS_BYTES if official else None)
        self.weights_sha256 = sha256
        self.network = FeatureExtractorInceptionV3(
            "inception-v3-compat", list(INCEPTION_FEATURES), feature_extractor_weights_path=str(self.weights_path)
        )

    def forward(self, images: Tensor) -> NetworkOutput:
        if images.dtype != torch.uint8:
            raise TypeError(
                f"expected uint8 images with values 0..255 (got {images.dtype}); "
                "the graph was fed 0..255 pixels, convert with (x * 255).round().to(torch.uint8) for x in [0, 1]"
            )
        if images.dim() != 4 or images.shape[1] not in (1, 3):
            raise ValueError(f"expected images of shape [N, C, H, W] with C = 1 or 3 (got {list(images.shape)})")
        if images.shape[1] == 1:
            images = images.expand(-1, 3, -1, -1)  # grayscale: the same value in R, G and B
        logits, pool = self.network(images)
        return NetworkOutput(logits=logits, features=pool)

    def train(self, mode: bool = True) -> InceptionV3:
        """Stays in eval mode: the graph is frozen (batch norm uses its stored statistics)."""
        return super().train(False)

    def extra_repr(self) -> str:
        return f"weights_path={str(self.weights_path)!r}"
