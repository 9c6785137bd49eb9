"""Building blocks the paper's models share.

- :mod:`~improved_gan.layers.weight_norm`: weight-normalised dense, conv and
  transposed-conv layers (scale frozen unless ``trainable_scale``).
- :mod:`~improved_gan.layers.data_init`: :func:`init_weight_norm`, the
  data-dependent initialisation of all of a model's weight-normalised layers.
- :mod:`~improved_gan.layers.noise`: additive Gaussian noise (training mode only).
- :mod:`~improved_gan.layers.normalization`: the generators' batch norm (batch
  statistics always, no scale, learned bias).
"""

from improved_gan.layers.data_init import init_weight_norm
from improved_gan.layers.noise import GaussianNoise, gaussian_noise
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
    "GaussianNoise",
    "WeightNormConv2d",
    "WeightNormConvTranspose2d",
    "WeightNormLayer",
    "WeightNormLinear",
    "batch_statistics_norm",
    "gaussian_noise",
    "init_weight_norm",
    "weight_norm_scale",
]
