"""Networks from a config: which model family, which options, and their initialisation."""

from __future__ import annotations

import torch
from torch import nn

from improved_gan.config import TrainConfig
from improved_gan.errors import ConfigError
from improved_gan.layers import init_weight_norm
from improved_gan.models.cifar import CIFARDiscriminator, CIFARGenerator
from improved_gan.models.imagenet import IMAGENET_IMAGE_SHAPE, ImageNetDiscriminator, ImageNetGenerator
from improved_gan.models.imagenet_dcgan import DCGANDiscriminator128, DCGANGenerator128
from improved_gan.models.mnist import MNIST_IMAGE_SHAPE, MNISTDiscriminator, MNISTGenerator


def build_models(
    config: TrainConfig, *, image_shape: tuple[int, int, int], num_classes: int, device: torch.device
) -> tuple[nn.Module, nn.Module]:
    """``(generator, discriminator)`` for ``config`` on ``device``, freshly constructed."""
    noise = {} if config.d_input_noise is None else {"input_noise": config.d_input_noise}
    mbd = {}
    if config.minibatch_kernels:
        mbd = {
            "minibatch_kernels": config.minibatch_kernels,
            "minibatch_kernel_dim": config.minibatch_kernel_dim,
            "minibatch_weight_norm": config.minibatch_weight_norm,
        }
    if config.architecture == "mnist-mlp":
        _check_shape(config, image_shape, MNIST_IMAGE_SHAPE)
        generator = MNISTGenerator(latent_dim=config.latent_dim, device=device)
        discriminator = MNISTDiscriminator(num_classes=num_classes, **noise, **mbd, device=device)
    elif config.architecture == "cifar-conv":
        _check_shape(config, image_shape, (3, 32, 32))
        generator = CIFARGenerator(latent_dim=config.latent_dim, norm=config.generator_norm, device=device)
        discriminator = CIFARDiscriminator(
            widths=config.d_widths, num_classes=num_classes, **noise, **mbd, device=device
        )
    elif config.architecture in ("imagenet-conv", "imagenet-dcgan"):
        generator, discriminator = _imagenet_models(config, image_shape, num_classes, device)
    else:  # validated by the config's Literal type; kept for readers
        raise ConfigError(f"unknown architecture {config.architecture!r}")
    return generator, discriminator


def _imagenet_models(
    config: TrainConfig, image_shape: tuple[int, ...], num_classes: int, device: torch.device
) -> tuple[nn.Module, nn.Module]:
    """The authors' 128x128 networks (imagenet-conv) or the DCGAN baseline (imagenet-dcgan), docs/imagenet.md."""
    _check_shape(config, image_shape, IMAGENET_IMAGE_SHAPE)
    if config.architecture == "imagenet-dcgan":
        return (
            DCGANGenerator128(latent_dim=config.latent_dim, widths=config.imagenet_g_widths, device=device),
            DCGANDiscriminator128(widths=config.imagenet_d_widths, device=device),
        )
    generator = ImageNetGenerator(
        latent_dim=config.latent_dim, gf_dim=config.imagenet_g_dim, noise_channels=config.noise_channels,
        norm=config.generator_norm, reference_size=config.imagenet_tower, device=device,
    )
    discriminator = ImageNetDiscriminator(
        num_classes=num_classes,
        df_dim=config.imagenet_d_dim,
        hidden_units=config.imagenet_d_hidden,
        input_noise=0.1 if config.d_input_noise is None else config.d_input_noise,
        minibatch_kernels=config.minibatch_kernels,
        minibatch_kernel_dim=config.minibatch_kernel_dim,
        tower_size=config.imagenet_tower,
        device=device,
    )
    return generator, discriminator


def _check_shape(config: TrainConfig, got: tuple[int, ...], expected: tuple[int, ...]) -> None:
    if tuple(got) != tuple(expected):
        raise ConfigError(
            f"architecture {config.architecture} expects {expected} images but dataset "
            f"{config.dataset} has {tuple(got)}; choose a matching preset"
        )


@torch.no_grad()
def initialise_models(generator: nn.Module, discriminator: nn.Module, x_train: torch.Tensor, config: TrainConfig) -> None:
    """Weight norm's data-dependent initialisation (reference: 500 real examples for D,
    a batch of z for G), drawn with the global torch generator seeded by the trainer."""
    count = min(config.init_batch_size, len(x_train))
    index = torch.randperm(len(x_train), device="cpu")[:count].to(x_train.device)
    init_weight_norm(discriminator, x_train[index])
    init_weight_norm(generator, generator.sample_latent(max(config.batch_size, 2)))
