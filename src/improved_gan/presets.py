"""The paper's experiments as named configurations.

Each preset is a :class:`~improved_gan.config.TrainConfig` built by a small
function registered under its name; its docstring says which part of the paper
it reproduces and where it deliberately differs from the authors' code.
``improved-gan train --list`` prints them.
"""

from __future__ import annotations

from typing import Callable

from improved_gan.config import TrainConfig
from improved_gan.errors import ConfigError

_PRESETS: dict[str, Callable[[], TrainConfig]] = {}


def register_preset(name: str) -> Callable[[Callable[[], TrainConfig]], Callable[[], TrainConfig]]:
    def decorator(factory: Callable[[], TrainConfig]) -> Callable[[], TrainConfig]:
        if name in _PRESETS:
            raise ValueError(f"preset {name!r} registered twice")
        _PRESETS[name] = factory
        return factory

    return decorator


def preset_names() -> list[str]:
    return sorted(_PRESETS)


def preset_description(name: str) -> str:
    doc = (_PRESETS[name].__doc__ or "").strip()
    return doc.splitlines()[0] if doc else ""


def get_preset(name: str) -> TrainConfig:
    """The preset's config; an unknown name raises ConfigError listing the valid ones."""
    try:
        factory = _PRESETS[name]
    except KeyError:
        raise ConfigError(f"unknown preset {name!r}; choose one of: {', '.join(preset_names())}") from None
    return factory()


# -- MNIST (Section 6.1) -------------------------------------------------------------------

@register_preset("mnist-fm")
def mnist_fm() -> TrainConfig:
    """Semi-supervised permutation-invariant MNIST with feature matching (Table 1).

    As the authors' code: D = Gaussian noise 0.3, weight-normed dense
    1000-500-250-250-250 with noise 0.5 after each, 10 logits (l_{K+1} = 0);
    G = 100-500-500-784 softplus + batch norm, sigmoid output; G trained by
    feature matching on D's last hidden layer (squared L2 of the batch means,
    mean over units); Adam lr 0.003, beta1 0.5; 100 labeled + 100 unlabeled +
    100 generated per step; 300 epochs of 600 steps; 100 labels (10 per class).

    Deliberate differences: the EMA of D's parameters that evaluates the test
    error is bias-corrected (the authors' average starts at the initial
    weights, so its first epochs evaluate a nearly untrained network); torch's
    Adam adds eps outside the square root (the authors' inside; eps = 1e-8
    makes this immaterial).
    """
    return TrainConfig(preset="mnist-fm")


@register_preset("mnist-mbd")
def mnist_mbd() -> TrainConfig:
    """Permutation-invariant MNIST with minibatch discrimination, for sample quality (Fig. 3 right).

    The mnist-fm networks with a minibatch-discrimination layer (B = 100
    kernels of C = 5 dims) on D's last hidden layer; G minimises
    log(1 - D(G(z))) and takes 3 steps per D step, as the authors' minibatch
    models do. Semi-supervised with 100 labels like Fig. 3's run: the paper
    notes that these samples are better, and the classifier worse.
    """
    return TrainConfig(
        preset="mnist-mbd",
        minibatch_kernels=100,
        minibatch_kernel_dim=5,
        generator_loss="saturating",
        generator_steps=3,
    )
