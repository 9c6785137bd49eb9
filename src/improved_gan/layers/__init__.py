"""Building blocks the paper's models share.

- :mod:`~improved_gan.layers.weight_norm`: weight-normalised dense, conv and
  transposed-conv layers (scale frozen unless ``trainable_scale``).
- :mod:`~improved_gan.layers.data_init`: :func:`init_weight_norm`, the
  data-dependent initialisation of all of a model's weight-normalised layers.
- :mod:`~improved_gan.layers.noise`: additive Gaussian noise (training mode only).
- :mod:`~improved_gan.layers.normalization`: the generators' batch norm (batch
  statistics always, no scale, learned bias).
- :mod:`~improved_gan.layers.cross_batch_norm`: the ImageNet discriminator's
  batch norm over a joint ``[real; generated]`` batch (half the channels with
  each half's statistics).
- :mod:`~improved_gan.layers.noise_channels`: fresh ``Uniform(-1, 1)`` channels
  concatenated to a layer's output (the ImageNet generator).
"""

from improved_gan.layers.cross_batch_norm import CrossBatchNorm, cross_batch_norm
from improved_gan.layers.data_init import init_weight_norm
from improved_gan.layers.noise import GaussianNoise, gaussian_noise
from improved_gan.layers.noise_channels import NoiseChannels, noise_channels
from improved_gan.layers.normalization import BatchStatisticsNorm, batch_statistics_norm
from improved_gan.layers.weight_norm import (
    WeightNormConv2d,
    WeightNormConvTranspose2d,
    WeightNormLayer,
    WeightNormLinear,
    weight_norm_scale,
)

__all__ = [
    "BatchStatisticsNorm",
    "CrossBatchNorm",
    "GaussianNoise",
    "NoiseChannels",
    "WeightNormConv2d",
    "WeightNormConvTranspose2d",
    "WeightNormLayer",
    "WeightNormLinear",
    "batch_statistics_norm",
    "cross_batch_norm",
    "gaussian_noise",
    "init_weight_norm",
    "noise_channels",
    "weight_norm_scale",
]
