r"""The project's own MNIST classifier, for Inception-style scores that need no download.

The Inception network was trained on ImageNet photographs; on 28x28 digits its
score says little. The "MNIST score" applies the Inception score's formula
(Section 4) to this classifier's softmax instead, and the "MNIST FD" is the
Frechet distance between its penultimate features of samples and of real
digits (docs/metrics.md).

Network: two 3x3 conv blocks at 28x28 (``width`` channels), max-pool, two at
14x14 (``2 * width``), max-pool, a 128-unit dense layer (the features), dropout,
a 10-way linear layer; batch norm after every conv and the dense layer. It takes
uint8 images, as the Inception network does, and scales them by 1/255 itself.

Training (:func:`train_classifier`): Adam with a one-cycle learning rate,
random shifts of up to 2 pixels, a fixed seed and a private RNG; it is
deterministic on one machine, but other CPUs or PyTorch versions may round
differently and give different weights.

Cache: ``$IMPROVED_GAN_CACHE/classifiers/mnist-<sha>.pt`` (default
``~/.cache/improved-gan/classifiers/``), ``<sha>`` the first 16 hex digits of
:func:`weights_digest`. The digest of the reference classifier, trained by
``improved-gan classifier train`` for docs/metrics.md, is recorded here as
:data:`MNIST_CLASSIFIER_SHA256`; :func:`load_classifier` refuses a cached file
whose weights no longer match it, so an edited or damaged cache is noticed
rather than silently changing every score.

A classifier trained on another machine may differ from the reference in the
last bits (its CPU's instruction set can select other convolution kernels, and
another PyTorch version other code, which round differently even on one
thread), so its digest differs. Such a
*local* classifier is a valid scorer too: when the reference is not cached,
:func:`load_classifier` uses the newest local one in the cache (checked against
the digest recorded in its own file), and every score records the digest of
the network that made it (``scores.json``: ``"network": "mnist_classifier SHA"``),
so scores from different classifiers are never mistaken for each other.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.torch_version import TorchVersion
from tqdm.auto import tqdm

from improved_gan.errors import UserError
from improved_gan.metrics.cache import CACHE_ENV, classifier_cache_dir
from improved_gan.metrics.classifier_recipe import TrainingOptions
from improved_gan.metrics.feature_network import NetworkOutput, run_network
from improved_gan.utils.atomic import atomic_torch_save

__all__ = [
    "MNIST_CLASSIFIER_SHA256",
    "MnistClassifier",
    "TrainingOptions",
    "classifier_accuracy",
    "classifier_cache_dir",
    "default_classifier_path",
    "is_reference",
    "load_classifier",
    "local_classifier_path",
    "save_classifier",
    "train_classifier",
    "weights_digest",
]

MNIST_CLASSIFIER_SHA256 = "71c4737f5c255cd405b963810cfe7540113c0c308750e09907a65f43346c5026"
""":func:`weights_digest` of the reference MNIST classifier (docs/metrics.md)."""

FORMAT_VERSION = 1
"""Layout of a saved classifier file; bump when it changes."""

_IMAGE_SHAPE = (28, 28, 1)


class MnistClassifier(nn.Module):
    r"""A small CNN for 28x28 grayscale digits: logits and 128 penultimate features.

    Args:
        width: channels of the first two conv layers (the next two have ``2 * width``).
        feature_dim: units of the dense layer whose output is the feature vector.
        num_classes: output classes.
        dropout: dropout rate between the features and the logits (training only).
        device, dtype: factory kwargs for the parameters.

    Shape:
        - Input: uint8 ``[N, 1, 28, 28]`` with values 0..255.
        - Output: :class:`NetworkOutput`, ``logits`` ``[N, num_classes]`` and
          ``features`` ``[N, feature_dim]`` (after ReLU, before dropout).

    Example::

        >>> net = MnistClassifier()
        >>> out = net.eval()(torch.zeros(2, 1, 28, 28, dtype=torch.uint8))
        >>> tuple(out.logits.shape), tuple(out.features.shape)
        ((2, 10), (2, 128))
    """

    def __init__(
        self,
        *,
        width: int = 16,
        feature_dim: int = 128,
        num_classes: int = 10,
        dropout: float = 0.3,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        self.width, self.feature_dim, self.num_classes, self.dropout = width, feature_dim, num_classes, dropout

        def conv_block(c_in: int, c_out: int) -> list[nn.Module]:
            conv = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False, **factory)
            return [conv, nn.BatchNorm2d(c_out, **factory), nn.ReLU()]

        self.body = nn.Sequential(
            *conv_block(1, width), *conv_block(width, width), nn.MaxPool2d(2),  # [N, w, 14, 14]
            *conv_block(width, 2 * width), *conv_block(2 * width, 2 * width), nn.MaxPool2d(2),  # [N, 2w, 7, 7]
            nn.Flatten(),
            nn.Linear(2 * width * 7 * 7, feature_dim, bias=False, **factory),
            nn.BatchNorm1d(feature_dim, **factory),
            nn.ReLU(),
        )  # fmt: skip
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(feature_dim, num_classes, **factory))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for module in self.modules():
            if module is not self and hasattr(module, "reset_parameters"):
                module.reset_parameters()

    def forward(self, images: Tensor) -> NetworkOutput:
        if images.dtype != torch.uint8:
            raise TypeError(f"expected uint8 images with values 0..255 (got {images.dtype})")
        if images.dim() != 4 or tuple(images.shape[1:]) != (1, 28, 28):
            raise ValueError(f"expected images of shape [N, 1, 28, 28] (got {list(images.shape)})")
        x = images.to(self.head[1].weight.dtype) / 255.0
        features = self.body(x)  # [N, feature_dim]
        return NetworkOutput(logits=self.head(features), features=features)

    def architecture(self) -> dict[str, Any]:
        """The constructor's keyword arguments, enough to rebuild the module."""
        return {
            "width": self.width,
            "feature_dim": self.feature_dim,
            "num_classes": self.num_classes,
            "dropout": self.dropout,
        }

    def extra_repr(self) -> str:
        return ", ".join(f"{key}={value}" for key, value in self.architecture().items())


# -- training ---------------------------------------------------------------------------------


def _random_shift(images: Tensor, max_shift: int, generator: torch.Generator) -> Tensor:
    """Each image of ``[N, C, H, W]`` moved by its own integer offset in ``[-max_shift, max_shift]``, zero fill."""
    if max_shift == 0:
        return images
    n, _, h, w = images.shape
    padded = F.pad(images, (max_shift,) * 4)  # [N, C, H + 2s, W + 2s]
    dy, dx = (torch.randint(0, 2 * max_shift + 1, (2, n), generator=generator))
    rows = (dy[:, None] + torch.arange(h))[:, None, :, None]  # [N, 1, H, 1]
    cols = (dx[:, None] + torch.arange(w))[:, None, None, :]  # [N, 1, 1, W]
    batch = torch.arange(n)[:, None, None, None]
    channel = torch.arange(images.shape[1])[None, :, None, None]
    return padded[batch, channel, rows, cols]


def train_classifier(
    images: np.ndarray,
    labels: np.ndarray,
    *,
    options: TrainingOptions = TrainingOptions(),
    model: MnistClassifier | None = None,
    progress: bool = True,
) -> MnistClassifier:
    """Train a classifier on uint8 images ``[N, 28, 28, 1]`` and int labels ``[N]``; returns it in eval mode.

    ``model`` (re-initialised first) chooses another architecture, e.g. a narrow
    one for a quick test; default: ``MnistClassifier()``.

    Runs on the CPU, on one thread, under a private RNG (``torch.random.fork_rng``)
    seeded with ``options.seed``: the weights then depend neither on the number
    of cores nor on the global RNG, which is left as it was (and so is the
    thread count).
    """
    if images.shape[1:] != _IMAGE_SHAPE or images.dtype != np.uint8:
        raise ValueError(f"expected uint8 images [N, 28, 28, 1] (got {images.dtype} {list(images.shape)})")
    if labels.shape != images.shape[:1]:
        raise ValueError(f"expected one label per image (got {labels.shape} for {len(images)} images)")
    steps_per_epoch = len(images) // options.batch_size
    if steps_per_epoch < 1 or options.epochs < 1:
        raise ValueError(
            f"nothing to train on: {len(images)} images, batch {options.batch_size}, {options.epochs} epochs"
        )
    x_all = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2)  # [N, 1, 28, 28] uint8
    y_all = torch.from_numpy(np.asarray(labels, dtype=np.int64))
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)  # reductions split over threads round differently
        return _train(model, x_all, y_all, options, steps_per_epoch, progress)
    finally:
        torch.set_num_threads(threads)


def _train(
    model: MnistClassifier | None,
    x_all: Tensor,
    y_all: Tensor,
    options: TrainingOptions,
    steps_per_epoch: int,
    progress: bool,
) -> MnistClassifier:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(options.seed)  # initial weights and dropout masks
        generator = torch.Generator().manual_seed(options.seed)  # batch order and shifts
        if model is None:
            model = MnistClassifier()
        else:
            model.reset_parameters()
        optimizer = torch.optim.Adam(model.parameters(), lr=options.max_lr)
        schedule = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=options.max_lr, total_steps=options.epochs * steps_per_epoch
        )
        model.train()
        # closed however the loop ends: a stop's line then comes after the bar, which is not drawn again after it
        with tqdm(total=options.epochs * steps_per_epoch, desc="training classifier", disable=not progress) as bar:
            for _ in range(options.epochs):
                order = torch.randperm(len(x_all), generator=generator)
                for step in range(steps_per_epoch):
                    index = order[step * options.batch_size : (step + 1) * options.batch_size]
                    x = _random_shift(x_all[index], options.max_shift, generator)
                    loss = F.cross_entropy(model(x).logits, y_all[index])
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                    schedule.step()
                    bar.update()
    return model.eval()


def classifier_accuracy(
    model: nn.Module, images: np.ndarray, labels: np.ndarray, *, batch_size: int = 1000
) -> float:
    """Fraction of ``images`` whose arg-max logit is the label."""
    logits = run_network(model, images, batch_size=batch_size).logits
    return float((logits.argmax(axis=1) == np.asarray(labels)).mean())


# -- checksum and cache -----------------------------------------------------------------------


def weights_digest(model: nn.Module) -> str:
    """SHA-256 over the state dict: names, dtypes, shapes and bytes, in name order (file format independent)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        tensor = tensor.detach().cpu().contiguous()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _file_name(sha256: str) -> str:
    return f"mnist-{sha256[:16]}.pt"


def default_classifier_path() -> Path:
    """Where the reference classifier is cached: ``classifier_cache_dir() / mnist-<sha16>.pt``."""
    return classifier_cache_dir() / _file_name(MNIST_CLASSIFIER_SHA256)


def save_classifier(model: MnistClassifier, path: str | os.PathLike | None = None, **record: Any) -> Path:
    """Write ``model`` atomically with its digest and ``record`` (e.g. test accuracy); returns the path.

    ``path`` defaults to the cache, named by the model's own digest.
    """
    sha256 = weights_digest(model)
    path = classifier_cache_dir() / _file_name(sha256) if path is None else Path(path)
    state = {
        "format_version": FORMAT_VERSION,
        "architecture": model.architecture(),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "sha256": sha256,
        "record": _plain(record),  # torch's safe loader (weights_only) refuses any other class
    }
    atomic_torch_save(state, path)
    return path


def _plain(value: Any) -> Any:
    """``value`` as built-in types only (str, int, float, bool, None, list, dict with str keys).

    Subclasses become their base (``torch.__version__`` is a ``TorchVersion``, a ``str`` subclass the
    safe loader refuses), tuples become lists; any other object is a ``TypeError`` here, at save time,
    rather than a file that cannot be loaded.
    """
    if value is None or type(value) in (bool, int, float, str):
        return value
    for base in (bool, int, float, str):  # bool before int: True is an int
        if isinstance(value, base):
            return base(value)
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    raise TypeError(f"a classifier's record holds plain values only, not {type(value).__qualname__}")


def _load_state(path: Path) -> dict:
    """The file's dict through the safe loader; files written before records were plain stored
    ``torch.__version__`` as a ``TorchVersion`` (a ``str``), which is allowed for them."""
    with torch.serialization.safe_globals([TorchVersion]):
        return torch.load(path, map_location="cpu", weights_only=True)


def _short(err: Exception) -> str:
    """One line of a loader's error (torch's weights-only refusal is seven lines of advice)."""
    text = str(err)
    for line in text.splitlines():
        if "WeightsUnpickler error:" in line:  # the one line naming what was refused
            return line.split("WeightsUnpickler error:", 1)[1].split(". Please use", 1)[0].strip()
    return text.splitlines()[0] if text.strip() else type(err).__name__


def load_classifier(path: str | os.PathLike | None = None) -> MnistClassifier:
    """A saved classifier, its weights checked against the digest; eval mode, CPU.

    Args:
        path: a file written by :func:`save_classifier`; ``None``: the cached
            reference classifier, whose digest must equal :data:`MNIST_CLASSIFIER_SHA256`.

    Raises:
        UserError: no such file (the message says how to train one), an
            unreadable file, or weights that do not match the recorded digest.
    """
    reference = path is None
    path = default_classifier_path() if reference else Path(path).expanduser()
    if reference and not path.is_file() and (local := local_classifier_path()) is not None:
        path, reference = local, False  # trained here, checked against its own recorded digest
    if not path.is_file():
        raise UserError(_missing_message(path, reference))
    try:
        state = _load_state(path)
        with torch.random.fork_rng(devices=[]):  # the throwaway initial weights must not draw from
            model = MnistClassifier(**state["architecture"])  # the caller's random stream (a training)
        model.load_state_dict(state["state_dict"])
    except Exception as err:  # any unreadable or foreign file: say which and how to replace it
        raise UserError(f"{path}: not a classifier saved by `improved-gan classifier train` ({_short(err)})") from None
    actual = weights_digest(model)
    expected = MNIST_CLASSIFIER_SHA256 if reference else state.get("sha256")
    if actual != expected:
        raise UserError(
            f"{path}: the classifier's weights have sha256 {actual}, but {expected} was recorded "
            f"({'in the package' if reference else 'in the file'}): the file was changed. Delete it and "
            "run `improved-gan classifier train` again."
        )
    return model.eval().requires_grad_(False)


def local_classifier_path() -> Path | None:
    """The newest classifier in the cache other than the reference (one `classifier train` wrote here)."""
    folder = classifier_cache_dir()
    if not folder.is_dir():
        return None
    reference = default_classifier_path().name
    local = [p for p in folder.glob("mnist-*.pt") if p.name != reference and p.is_file()]
    return max(local, key=lambda p: (p.stat().st_mtime, p.name)) if local else None


def is_reference(model: nn.Module) -> bool:
    """True when ``model``'s weights are the reference classifier's (scores comparable with docs/metrics.md)."""
    return weights_digest(model) == MNIST_CLASSIFIER_SHA256


def _missing_message(path: Path, reference: bool) -> str:
    if not reference:
        return f"classifier file {path} is a folder; name the .pt file" if path.is_dir() else \
            f"classifier file {path} does not exist"
    blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if blocker is not None:  # $IMPROVED_GAN_CACHE names a file
        return (f"the classifier cache {path.parent} cannot exist: {blocker} is a file, not a folder; point "
                f"{CACHE_ENV} at a folder")
    return (
        f"the MNIST classifier is not cached at {path}. Train it once with `improved-gan classifier train "
        f"[--data-dir DIR]` (a few minutes on a CPU; set {CACHE_ENV} to cache elsewhere); scores and "
        "training runs then use it."
    )
