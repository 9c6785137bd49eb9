"""Weight-normalised dense, convolutional and transposed-convolutional layers.

Weight normalisation (Salimans & Kingma, 2016; used throughout the paper's
semi-supervised discriminators, Section 5 and docs/reference.md) writes each
output unit's weight vector as a direction ``v`` times a scale ``g``:

.. math::
    w = \\frac{g}{\\lVert v \\rVert} \\, v, \\qquad y = w \\cdot x + b

The layers here compute the per-unit factor ``g / ||v||`` once per forward pass
(a vector, one value per output unit) with plain tensor operations, not with
``torch.nn.utils.weight_norm`` hooks, so they run under ``torch.compile``,
bfloat16 autocast and float64 alike.

As in the reference, the scale ``g`` is frozen in most layers: it is set once by
the data-dependent initialisation (:func:`improved_gan.layers.init_weight_norm`)
and then kept fixed; only layers built with ``trainable_scale=True`` learn it.
A frozen ``g`` is a *buffer*, not a parameter, so no optimiser, no
``requires_grad_(True)`` on the whole model and no weight decay can unfreeze it;
it is still saved in ``state_dict`` under the same name (``weight_g``).
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "weight_norm_scale",
    "WeightNormLayer",
    "WeightNormLinear",
    "WeightNormConv2d",
    "WeightNormConvTranspose2d",
]


def weight_norm_scale(weight_v: Tensor, weight_g: Tensor, norm_dims: Sequence[int]) -> Tensor:
    """The per-unit factor ``g / ||v||`` that turns the direction ``v`` into the weight.

    Args:
        weight_v: the unnormalised weight (direction), any shape.
        weight_g: the scale, one value per output unit, shape ``[U]``.
        norm_dims: the dimensions of ``weight_v`` that make up one unit's weight
            vector (all dimensions except the output-unit one).

    Returns:
        ``[U]``: ``g_u / sqrt(sum of v_u squared)``.
    """
    return weight_g * torch.rsqrt(weight_v.square().sum(dim=tuple(norm_dims)))


def _all_dims_but(ndim: int, dim: int) -> tuple[int, ...]:
    """``(0, ..., ndim - 1)`` without ``dim`` (``0 <= dim < ndim``)."""
    return (*range(dim), *range(dim + 1, ndim))


class WeightNormLayer(nn.Module):
    """What the weight-normalised layers share: ``v``, ``g``, ``b`` and the data-dependent init.

    Not used on its own; :class:`WeightNormLinear`, :class:`WeightNormConv2d` and
    :class:`WeightNormConvTranspose2d` say how ``v`` is shaped and applied.

    Attributes:
        weight_v: the direction ``v``, initialised ``N(0, init_std^2)``, or
            Glorot-uniform (Lasagne's default) if ``init_std`` is None.
        weight_g: the scale ``g``, shape ``[out]``, initialised to 1; a parameter if
            ``trainable_scale`` else a buffer.
        bias: ``b``, shape ``[out]``, initialised to 0, or ``None``.
        norm_dims: the dimensions of ``v`` that make up one unit's weight vector (all but the unit one).
        init_scale: the standard deviation the pre-activations get from the
            data-dependent initialisation (1 in the reference, 0.1 in the last
            layer of the CIFAR-10 models), or ``None`` to leave the layer out of it.
    """

    # index of the output-unit dimension of ``weight_v`` and of the layer's output
    _weight_unit_dim: int
    _output_unit_dim: int

    def __init__(
        self,
        weight_shape: tuple[int, ...],
        out_units: int,
        *,
        bias: bool,
        trainable_scale: bool,
        init_scale: float | None,
        init_std: float | None,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        if init_scale is not None and not (math.isfinite(init_scale) and init_scale > 0):
            raise ValueError(f"init_scale must be a positive number or None (got {init_scale})")
        if init_scale is not None and not bias:
            raise ValueError("the data-dependent initialisation sets the bias: use bias=True or init_scale=None")
        if init_std is not None and not (math.isfinite(init_std) and init_std > 0):
            raise ValueError(f"init_std must be a positive number or None (got {init_std})")
        factory = {"device": device, "dtype": dtype}
        self.trainable_scale = trainable_scale
        self.init_scale = init_scale
        self.init_std = init_std
        self.norm_dims = _all_dims_but(len(weight_shape), self._weight_unit_dim)
        self.weight_v = nn.Parameter(torch.empty(weight_shape, **factory))
        scale = torch.empty(out_units, **factory)
        if trainable_scale:
            self.weight_g = nn.Parameter(scale)
        else:
            self.register_buffer("weight_g", scale)
        if bias:
            self.bias = nn.Parameter(torch.empty(out_units, **factory))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """``v ~ N(0, init_std^2)`` (or Glorot-uniform), ``g = 1``, ``b = 0`` (the reference's initial values)."""
        if self.init_std is None:
            nn.init.xavier_uniform_(self.weight_v)
        else:
            nn.init.normal_(self.weight_v, mean=0.0, std=self.init_std)
        with torch.no_grad():
            self.weight_g.fill_(1.0)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def scale(self) -> Tensor:
        """``[out]``: the factor ``g / ||v||`` applied to each output unit."""
        return weight_norm_scale(self.weight_v, self.weight_g, self.norm_dims)

    @property
    def weight(self) -> Tensor:
        """The effective weight ``v * g / ||v||``, shaped like ``weight_v`` (for inspection and export)."""
        shape = [1] * self.weight_v.dim()
        shape[self._weight_unit_dim] = -1
        return self.weight_v * self.scale().view(shape)

    @torch.no_grad()
    def data_dependent_init(self, preactivation: Tensor) -> Tensor:
        """Set ``g`` and ``b`` from this layer's output on the initialisation batch.

        With ``y`` the pre-activation without bias, per output unit ``u``
        (statistics over every dimension but the unit one, standard deviation with
        divisor ``n`` as in the reference):

        .. math::
            g_u \\leftarrow g_u \\frac{s}{\\sigma_u}, \\qquad
            b_u \\leftarrow -\\frac{s \\, \\mu_u}{\\sigma_u}

        where ``s = init_scale``, so that on that batch the new pre-activations have
        mean 0 and standard deviation ``s``.

        Args:
            preactivation: this layer's output, computed with the current ``g`` and ``b``.

        Returns:
            The output the re-initialised layer gives on the same input, in the
            input's dtype, for the next layer's initialisation.
        """
        if self.init_scale is None:
            raise ValueError("this layer was built with init_scale=None: it has no data-dependent initialisation")
        unit_dim = self._output_unit_dim % preactivation.dim()
        stat_dims = _all_dims_but(preactivation.dim(), unit_dim)
        count = preactivation.numel() // max(preactivation.shape[unit_dim], 1)
        if count < 2:
            raise ValueError(
                f"the data-dependent initialisation needs at least 2 values per unit (got {count});"
                " pass a larger batch (the reference uses 500 examples)"
            )
        bias_shape = [1] * preactivation.dim()
        bias_shape[unit_dim] = -1
        stats_dtype = torch.promote_types(preactivation.dtype, torch.float32)
        y = preactivation.to(stats_dtype) - self.bias.to(stats_dtype).view(bias_shape)
        var, mean = torch.var_mean(y, dim=stat_dims, correction=0)
        if not bool((var > 0).all()):
            dead = int((var <= 0).sum())
            raise ValueError(
                f"{dead} of {var.numel()} units have constant pre-activations on the initialisation"
                " batch, so they cannot be scaled to unit variance; use a batch of distinct examples"
            )
        factor = self.init_scale * torch.rsqrt(var)  # [out]
        self.weight_g.mul_(factor.to(self.weight_g.dtype))
        self.bias.copy_(-mean * factor)
        normalised = (y - mean.view(bias_shape)) * factor.view(bias_shape)
        return normalised.to(preactivation.dtype)

    def _scale_repr(self) -> str:
        v_init = "glorot_uniform" if self.init_std is None else f"normal(std={self.init_std})"
        return f"trainable_scale={self.trainable_scale}, init_scale={self.init_scale}, v_init={v_init}"


class WeightNormLinear(WeightNormLayer):
    """A dense layer with a weight-normalised weight: ``y = (x v^T) * g/||v|| + b``.

    The scale is applied to the ``[N, out]`` product rather than to the
    ``[out, in]`` weight, which is the same function and costs fewer operations
    forward and backward whenever the batch is smaller than ``in_features``
    (e.g. the MNIST discriminator: 784 or 1000 inputs, 300 rows per step).

    Args:
        in_features: size of each input row.
        out_features: number of output units.
        bias: learn an additive bias (needed by the data-dependent init). Default: True.
        trainable_scale: learn ``g`` (the reference does so only in the last layer). Default: False.
        init_scale: target standard deviation of the data-dependent init, or None
            to leave this layer out of it. Default: 1.0.
        init_std: standard deviation of the initial ``v`` (normal), or None for
            Glorot-uniform. Default: 0.05.

    Shape:
        - Input: ``[*, in_features]``
        - Output: ``[*, out_features]``

    Example::

        >>> layer = WeightNormLinear(784, 1000, init_std=0.1)
        >>> layer(torch.rand(300, 784)).shape
        torch.Size([300, 1000])
    """

    _weight_unit_dim = 0
    _output_unit_dim = -1

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        bias: bool = True,
        trainable_scale: bool = False,
        init_scale: float | None = 1.0,
        init_std: float | None = 0.05,
        device=None,
        dtype=None,
    ) -> None:
        self.in_features = in_features
        self.out_features = out_features
        super().__init__(
            (out_features, in_features),
            out_features,
            bias=bias,
            trainable_scale=trainable_scale,
            init_scale=init_scale,
            init_std=init_std,
            device=device,
            dtype=dtype,
        )

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() == 0 or x.shape[-1] != self.in_features:
            raise ValueError(f"expected input of shape [*, {self.in_features}] (got {list(x.shape)})")
        product = F.linear(x, self.weight_v)  # [*, out]
        scale = self.scale().to(product.dtype)  # the product's dtype, which differs under autocast
        if self.bias is None:
            return product * scale
        return torch.addcmul(self.bias.to(product.dtype), product, scale)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}, {self._scale_repr()}"
        )


class _WeightNormConv(WeightNormLayer):
    """What the two convolutions share: constructor, shape check, forward, repr."""

    _transposed: bool
    _output_unit_dim = 1

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        *,
        stride: int = 1,
        padding: int = 0,
        output_padding: int = 0,
        bias: bool = True,
        trainable_scale: bool = False,
        init_scale: float | None = 1.0,
        init_std: float | None = 0.05,
        device=None,
        dtype=None,
    ) -> None:
        if output_padding and not self._transposed:
            raise ValueError(f"output_padding applies to transposed convolutions only (got {output_padding})")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding
        self.output_padding = output_padding
        channels = (in_channels, out_channels) if self._transposed else (out_channels, in_channels)
        super().__init__(
            (*channels, kernel_size, kernel_size),
            out_channels,
            bias=bias,
            trainable_scale=trainable_scale,
            init_scale=init_scale,
            init_std=init_std,
            device=device,
            dtype=dtype,
        )

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"expected input of shape [N, {self.in_channels}, H, W] (got {list(x.shape)})")
        if self._transposed:
            return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding, self.output_padding)
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding)

    def extra_repr(self) -> str:
        output_padding = f", output_padding={self.output_padding}" if self._transposed else ""
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}{output_padding}, "
            f"bias={self.bias is not None}, {self._scale_repr()}"
        )


class WeightNormConv2d(_WeightNormConv):
    """A 2-D convolution with a weight-normalised kernel (one ``g`` per output channel).

    ``v`` has shape ``[out_channels, in_channels, k, k]``; each output channel's
    kernel is normalised over its ``in_channels * k * k`` entries.

    Args:
        in_channels: channels of the input.
        out_channels: channels of the output.
        kernel_size: side of the square kernel.
        stride: convolution stride. Default: 1.
        padding: zero padding on each side. Default: 0.
        output_padding: must be 0 (accepted for symmetry with the transposed layer).
        bias, trainable_scale, init_scale, init_std: as in :class:`WeightNormLinear`.

    Shape:
        - Input: ``[N, in_channels, H, W]``
        - Output: ``[N, out_channels, (H + 2p - k) // s + 1, (W + 2p - k) // s + 1]``
    """

    _transposed = False
    _weight_unit_dim = 0


class WeightNormConvTranspose2d(_WeightNormConv):
    """A 2-D transposed convolution with a weight-normalised kernel (one ``g`` per output channel).

    ``v`` has shape ``[in_channels, out_channels, k, k]`` (PyTorch's layout for
    transposed convolutions); each output channel's kernel is normalised over its
    ``in_channels * k * k`` entries. With ``kernel_size=5, stride=2, padding=2,
    output_padding=1`` it doubles the spatial size, like the reference's "half"
    padded Theano deconvolution.

    Args:
        in_channels: channels of the input.
        out_channels: channels of the output.
        kernel_size: side of the square kernel.
        stride, padding, output_padding: as in ``torch.nn.ConvTranspose2d``. Defaults: 1, 0, 0.
        bias, trainable_scale, init_scale, init_std: as in :class:`WeightNormLinear`.

    Shape:
        - Input: ``[N, in_channels, H, W]``
        - Output: ``[N, out_channels, (H - 1) s - 2p + k + output_padding, ...]``
    """

    _transposed = True
    _weight_unit_dim = 1
