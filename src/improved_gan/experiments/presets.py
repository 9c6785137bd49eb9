"""The paper's experiments as named configurations.

Each preset is a :class:`~improved_gan.config.TrainConfig` built by a small
function, named in the table at the end of this module; its docstring says
which part of the paper it reproduces and where it deliberately differs from
the authors' code. ``improved-gan train --list`` prints them.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

from improved_gan.config import TrainConfig
from improved_gan.errors import ConfigError


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

def mnist_fm() -> TrainConfig:
    """Semi-supervised MNIST with feature matching (Table 1), as released; fails often (16 of 20 seeds, stability.md).

    As the authors' code: D = Gaussian noise 0.3, weight-normed dense
    1000-500-250-250-250 with noise 0.5 after each, 10 logits (l_{K+1} = 0);
    G = 100-500-500-784 softplus + batch norm, sigmoid output; G trained by
    feature matching on D's last hidden layer (squared L2 of the batch means,
    mean over units); Adam lr 0.003, beta1 0.5; 100 labeled + 100 unlabeled +
    100 generated per step; 300 epochs of 600 steps; 100 labels (10 per class).

    History (docs/reference.md): lr 0.003 held constant and test errors of the
    EMA of D are the released script's, from a commit four days after the
    paper appeared; the script as it stood at the paper is ``mnist-fm-paper``.
    Measured failure rate (docs/stability.md, study 2: the demo's setting,
    mnist5k with 100 labels, float32, an AVX2 host): D overpowered G in 16 of
    20 seeds by epoch 5, 80% [56, 94], against 0 of 20 at ``mnist-fm-paper``'s
    lr 0.001. On full MNIST, seed 2 of the reference step failed at epoch 12
    and three GPU seeds (TF32) failed by epoch 45 (docs/results.md).

    Adam is the authors' own, with epsilon inside the square root
    (training/optim.py): with torch's Adam this run collapses after about 13
    epochs (docs/results.md). Deliberate difference: the EMA of D's parameters
    that evaluates the test error is warm-started (its window grows to the
    authors' 10,000 steps by epoch 150; theirs starts at zero, so its first
    epochs evaluate a shrunken network).
    """
    return TrainConfig(preset="mnist-fm")


def mnist_fm_paper() -> TrainConfig:
    """Table 1 as the script stood at the paper: lr 0.001, decay 200-300, raw D; fails 1 of 20 seeds (stability.md).

    mnist-fm's networks, losses and data, with the two settings a commit four
    days after the paper changed (docs/reference.md): Adam lr 0.001 held to
    epoch 200, then decayed linearly to 0 at epoch 300, and the test error of
    the raw discriminator (no parameter average). Both the raw and the EMA
    errors are logged every epoch (``test_errors_raw``, ``test_errors``); a
    table made by ``improved-gan reproduce table1`` reports the raw ones for
    this preset, because that is what the paper-time script printed.

    Measured failure rate (docs/stability.md, study 2: the demo's setting,
    mnist5k with 100 labels, float32, an AVX2 host): D overpowered G in 1 of
    20 seeds by epoch 40, 5% [0.1, 25] (seed 9, at epoch 32); on an AVX-512
    host (study 6, seeds 0-19, epoch 25): 1 of 20 in float32, 18 of 20 with
    bf16 products (``--precision bf16``). On full MNIST
    (study 3, float32, AVX2): 0 of 10 seeds failed through epoch 20, 0% [0,
    31], 246-401 errors of 10,000 there (not measured further); seeds 0-4
    were healthy to epoch 14 on an AVX-512 host too. The demo
    trained this preset until ``mnist-fm-stable`` (D's input noise 0.5), which
    failed in none of 40 seeds of the same study.
    """
    return TrainConfig(preset="mnist-fm-paper", lr=0.001, lr_decay_start=200, lr_decay_end=300, table_discriminator="raw")


def mnist_fm_stable() -> TrainConfig:
    """``mnist-fm-paper`` with noise of std 0.5 on D's input: the setting the seed study found not to fail.

    One change from ``mnist-fm-paper``: the Gaussian noise on the
    discriminator's input has std 0.5 instead of the authors' 0.3 (the noise
    after each hidden layer stays 0.5). Measured (docs/stability.md, study 2:
    the demo's setting, mnist5k with 100 labels, float32, an AVX2 host, the
    same seeds 0-19 in every arm, to epoch 40): D overpowered G in 0 of 20
    seeds, 0% [0, 17], against 1 of 20 for ``mnist-fm-paper``; the lowest
    ``loss_unsup`` of any seed from epoch 5 on was 0.145 (the failure floor is
    0.05); the test errors at epoch 40 did not differ from ``mnist-fm-paper``'s
    on the same seeds (median paired difference +1 of 1,000, Wilcoxon p =
    0.81). Re-checked on new seeds 20-39: 0 of 20 again, so 0 of 40, 0% [0,
    8.8]. The demo's seeds 0-4 (80 epochs), each trained twice (two
    random draws, before and after commit 4195f1c): none failed; 0.54-0.66
    and 0.45-0.82 times the labels-only errors (seed 0 of the second draw:
    0.82, a difference within the seed-to-seed spread; the paper's schedule scaled
    to the demo's 80 epochs, study 4: seed 0 at 0.80, not adopted). Continued
    to 120 epochs (study 5, the demo's length since): 0.39-0.63, none failed;
    the demo itself on seeds 5-9 (the check): 0.44-0.66, none failed. Full MNIST
    (study 3): 0 of 10 seeds failed through epoch 40, 0% [0, 31], lowest
    ``loss_unsup`` from epoch 5 0.315, 209-403 errors of 10,000 at epoch 40;
    but slower than ``mnist-fm-paper``: at epoch 20 more errors on all 10
    seeds (median 457.5 against 290.5, Wilcoxon p = 0.002), ``mnist-fm-paper``
    at 20 about where this preset is at 40. On an AVX-512 host with native
    bf16 (study 6, float32): 0 of 20 proxy seeds failed, 0% [0, 17] (0 of
    60 over both kinds), median 162 errors at epoch 40 as on AVX2; the demo's
    seeds 0-4 at 120 epochs 0.40-0.61, none failed. Not yet measured: full
    MNIST on AVX-512, the paper's setting at epoch 40, beyond epoch 40.
    The demo trains this preset. A deviation from the paper (docs/reference.md).
    """
    return dataclasses.replace(mnist_fm_paper(), preset="mnist-fm-stable", d_input_noise=0.5)


def mnist_mbd() -> TrainConfig:
    """Permutation-invariant MNIST with minibatch discrimination, for sample quality (Fig. 3 right).

    The mnist-fm networks with the authors' minibatch-discrimination layer
    (B = 100 kernels of C = 5 dims, weight-normalised T with a data-dependent
    initialisation) on D's last hidden layer. As the authors' MNIST minibatch
    code: G minimises log(1 - D(G(z))) and takes 3 steps per D step, Adam lr
    3e-4 decayed linearly to 0 over epochs 300-500, test batches of 100 (the
    minibatch features make a prediction depend on its batch). Semi-supervised
    with 100 labels: the paper notes that these samples are better, and the
    classifier worse.

    Deliberate difference: the authors' MNIST minibatch model is
    convolutional; this preset keeps the permutation-invariant networks of
    Section 6.1. With the paper's plain T (``--set minibatch_weight_norm=false``)
    or mnist-fm's lr 0.003 the generator collapses (docs/results.md).
    """
    return TrainConfig(
        preset="mnist-mbd",
        minibatch_kernels=100,
        minibatch_kernel_dim=5,
        generator_loss="saturating",
        generator_steps=3,
        lr=3e-4,
        epochs=500,
        lr_decay_start=300,
        lr_decay_end=500,
        eval_batch_size=100,
    )


# -- CIFAR-10 and SVHN (Sections 6.2, 6.3) ------------------------------------------------------

_CONV = dict(architecture="cifar-conv", lr=3e-4, feature_matching_distance="l1")


def cifar10_fm() -> TrainConfig:
    """Semi-supervised CIFAR-10 with feature matching, 4,000 labels (Table 2).

    As the authors' code: the 9-layer conv D (96/192 channels, dropout 0.2/0.5,
    leaky ReLU 0.2, weight norm), the 4-layer G with batch norm, feature matching
    as the mean absolute difference of D's global-average-pool features, pixels
    (x - 127.5)/128, Adam lr 3e-4 decayed linearly to 0 over epochs 800-1200,
    1,200 epochs of 500 steps. With ../shared/data's CIFAR-10 (all 50,000 training
    images, the first 1,000 test images) the test error is over those 1,000 and
    the report gives its confidence interval.
    """
    return TrainConfig(
        preset="cifar10-fm", dataset="cifar10", pixel_scale="cifar", labels=4000,
        epochs=1200, lr_decay_start=800, lr_decay_end=1200, **_CONV,
    )


def cifar10_mbd() -> TrainConfig:
    """CIFAR-10 with minibatch discrimination, for sample quality (Section 6.2, Fig. 4 right).

    The cifar10-fm networks with the authors' minibatch layer (B = 100 kernels
    of C = 5 dims, weight-normalised T with a data-dependent initialisation)
    after global average pooling, Gaussian noise 0.2 on D's input instead of
    dropout there; G minimises log(1 - D(G(z))) with 3 steps per D step;
    4,000 labels; test batches of 100, as the authors' (a prediction depends on
    its batch through the minibatch features).
    """
    return dataclasses.replace(
        cifar10_fm(), preset="cifar10-mbd", minibatch_kernels=100, minibatch_kernel_dim=5,
        d_input_noise=0.2, generator_loss="saturating", generator_steps=3, eval_batch_size=100,
    )


def svhn_fm() -> TrainConfig:
    """Semi-supervised SVHN with feature matching, 1,000 labels (Table 4).

    The CIFAR networks with D widths 64/128, pixels (x - 127.5)/127.5, the
    `train` split only (no `extra`), lr 3e-4 decayed over epochs 600-900,
    900 epochs of 732 steps.
    """
    return TrainConfig(
        preset="svhn-fm", dataset="svhn", pixel_scale="symmetric", labels=1000, d_widths=(64, 128),
        epochs=900, lr_decay_start=600, lr_decay_end=900, **_CONV,
    )


def svhn_mbd() -> TrainConfig:
    """SVHN with minibatch discrimination, for sample quality (Fig. 5 right).

    svhn-fm's data and schedule with the minibatch-discrimination D (96/192
    channels, B = 100, C = 5, input noise 0.2) and the saturating G loss with 3
    G steps per D step.
    """
    return dataclasses.replace(
        svhn_fm(), preset="svhn-mbd", d_widths=(96, 192), minibatch_kernels=100, minibatch_kernel_dim=5,
        d_input_noise=0.2, generator_loss="saturating", generator_steps=3, eval_batch_size=100,
    )


# -- ImageNet 128x128 (Section 6.5) -----------------------------------------------------------

_IMAGENET = dict(
    dataset="imagenet-folder", pixel_scale="symmetric", labels=0, update="simultaneous",
    optimizer="adam-torch", lr=4e-4, beta1=0.5, batch_size=64, epochs=100, expected_classes=1000,
    eval_batch_size=64, sample_grid=64, epoch_score_every=1,
)  # Inception score of 1,000 samples after every epoch (20,018 steps of 64), 10,000 at the end, when the
#    weights are present (training/sample_scores.py)


def imagenet128() -> TrainConfig:
    """128x128 ImageNet, all 1,000 classes: the authors' networks, losses and batch (Section 6.5).

    As the authors' TensorFlow code (docs/imagenet.md has the layer tables):
    z ~ Uniform(-1, 1)^8192; G a linear layer to 4x4x512 and six 5x5 transposed
    convolutions (gf_dim 64) with virtual batch norm over a fixed reference
    batch of 16 (its z and noise fixed) and 64, 64, 32, 16, 8, 8 noise
    channels; D seven 3x3 convolutions (df_dim 64) and a 2,560-unit dense
    layer, each with cross batch norm, minibatch features (300 x 50) on the
    joint real + generated batch and 1,001 logits; their initial weights
    (output bias -0.45, std 0.075). D's loss BCE(LSE, 0.75) on real +
    BCE(LSE, 0) on generated + the class cross-entropy over all 1,001 logits;
    G pushed toward D(G(z)) = 0.375; D and G updated simultaneously from one
    pass on the same batch; Adam 4e-4, beta1 0.5.

    The batch: 64 = the authors' 4 towers x 16. Cross batch norm and minibatch
    features group the rows in towers of ``imagenet_tower = 16`` real + 16
    generated, whatever the process count: one process at 64 groups them as
    the four towers did, ``torchrun --nproc-per-node 4`` gives each process one
    tower; a process's share that is not whole towers is refused.

    Ours: torch's Adam (eps outside the root, as TensorFlow's); 100 epochs (the
    paper gives none); ``unsupervised_weight = 2`` because the package's
    unsupervised loss averages the real and generated terms and the authors'
    sums them; PyTorch's symmetric padding (docs/imagenet.md). Needs
    ``--data-dir`` at the ImageNet training folder (one folder per class); a
    run with another number of class folders sets ``expected_classes``.
    Inception score after every epoch when the Inception weights are present
    (else one line at the start, and no scores).
    """
    return TrainConfig(
        preset="imagenet128", architecture="imagenet-conv", mode="supervised", latent_dim=8192,
        imagenet_g_dim=64, imagenet_d_dim=64, imagenet_d_hidden=2560, noise_channels=64, imagenet_tower=16,
        minibatch_kernels=300, minibatch_kernel_dim=50, d_input_noise=0.1, generator_norm="virtual",
        label_smoothing=0.75, generator_loss="non-saturating", generator_target=0.375, unsupervised_weight=2.0,
        **_IMAGENET,
    )


def imagenet128_dcgan() -> TrainConfig:
    """The DCGAN baseline of Section 6.5 on 128x128 ImageNet, ours: batch norm, one real/fake logit, no techniques.

    The paper does not describe its baseline and the authors' code does not
    hold it; we take DCGAN's own settings (models/imagenet_dcgan.py,
    docs/imagenet.md): z ~ Uniform(-1, 1)^100, five 5x5 stride-2 layers each
    way (``imagenet_g_widths``, ``imagenet_d_widths``), BatchNorm2d in G and
    D, no noise channels or input noise, no dense or minibatch layer, no labels
    (mode gan); D's loss BCE(real, 1) + BCE(gen, 0), G's -log D(G(z)). The
    same step as imagenet128 (simultaneous updates, Adam 4e-4 / 0.5, global
    batch 64), so the two runs differ in the networks and objective; D is
    called on the real and the generated batch apart.
    """
    return TrainConfig(
        preset="imagenet128-dcgan", architecture="imagenet-dcgan", mode="gan", latent_dim=100,
        generator_loss="non-saturating", unsupervised_weight=2.0, **_IMAGENET,
    )


# name -> the function that builds it; `improved-gan train --list` prints them in name order
_PRESETS: dict[str, Callable[[], TrainConfig]] = {
    "mnist-fm": mnist_fm,
    "mnist-fm-paper": mnist_fm_paper,
    "mnist-fm-stable": mnist_fm_stable,
    "mnist-mbd": mnist_mbd,
    "cifar10-fm": cifar10_fm,
    "cifar10-mbd": cifar10_mbd,
    "svhn-fm": svhn_fm,
    "svhn-mbd": svhn_mbd,
    "imagenet128": imagenet128,
    "imagenet128-dcgan": imagenet128_dcgan,
}
