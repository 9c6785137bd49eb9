r"""Virtual batch normalization (Section 3.5): normalise with a fixed reference batch.

Batch norm makes an example's output depend on the other examples of its
minibatch. VBN normalises each example :math:`x` with the statistics of a
*reference batch* chosen once at the start of training **plus** :math:`x`
itself; the reference batch is normalised with its own statistics only. For a
reference batch of R examples, per feature (dense) or per channel (conv):

.. math::

    \mu_x = \tfrac{1}{R+1}\,\mu(x) + \tfrac{R}{R+1}\,\mu_\text{ref}, \qquad
    \overline{x^2} = \tfrac{1}{R+1}\,\overline{x^2}(x) + \tfrac{R}{R+1}\,\overline{x^2}_\text{ref},

    \operatorname{VBN}(x) = \gamma\,\frac{x - \mu_x}{\sqrt{\overline{x^2} - \mu_x^2 + \epsilon}} + \beta ,

where :math:`\mu(x), \overline{x^2}(x)` are x's own mean and mean of squares
(over its H x W positions for a conv map; the value itself for a dense
feature). These are exactly the biased mean and variance of the pooled set
"reference batch and x". As in the authors' ImageNet code, the reference batch
is an *input* fixed once (e.g. the generator's noise ``z_ref``) that goes through
the network with every batch, so its statistics follow the current parameters
and receive gradients; see :class:`WithReferenceBatch`.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from improved_gan.errors import ConfigError
from improved_gan.techniques._checks import check_positive_float, check_positive_int


def _spatial_dims(x: Tensor) -> tuple[int, ...]:
    return tuple(range(2, x.dim()))


def _affine(normalised: Tensor, weight: Tensor | None, bias: Tensor | None) -> Tensor:
    """Apply per-channel gamma and beta (channel axis 1)."""
    shape = (1, -1) + (1,) * (normalised.dim() - 2)
    if weight is not None:
        normalised = normalised * weight.reshape(shape)
    if bias is not None:
        normalised = normalised + bias.reshape(shape)
    return normalised


def _check_layout(name: str, x: Tensor, num_features: int | None = None) -> None:
    if x.dim() < 2 or (num_features is not None and x.size(1) != num_features):
        channels = "C" if num_features is None else str(num_features)
        raise ValueError(f"expected {name} of shape [N, {channels}] or [N, {channels}, *] (got {tuple(x.shape)})")


def reference_batch_norm(
    reference: Tensor,
    *,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    r"""The reference batch normalised with its own statistics (plain training-mode batch norm).

    .. math::

        \gamma\,\frac{r - \mu_\text{ref}}{\sqrt{\sigma^2_\text{ref} + \epsilon}} + \beta,
        \quad \sigma^2 \text{ biased (divided by the count, not count - 1)}

    Shape:
        - reference: ``[R, C]`` or ``[R, C, *]``. Output: same shape.
    """
    _check_layout("reference", reference)
    var_ref, mean_ref = torch.var_mean(reference, dim=(0,) + _spatial_dims(reference), correction=0, keepdim=True)
    return _affine((reference - mean_ref) * torch.rsqrt(var_ref + eps), weight, bias)


def virtual_batch_norm(
    x: Tensor,
    reference: Tensor,
    *,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    r"""Normalise each example of ``x`` with the statistics of ``reference`` plus itself (Section 3.5).

    .. math::

        \mu_i = \tfrac{1}{R+1}\mu(x_i) + \tfrac{R}{R+1}\mu_\text{ref},\quad
        \sigma^2_i = \tfrac{1}{R+1}\sigma^2(x_i) + \tfrac{R}{R+1}\sigma^2_\text{ref}
                    + \tfrac{R}{(R+1)^2}\big(\mu(x_i) - \mu_\text{ref}\big)^2,

        y_i = \gamma\,(x_i - \mu_i)/\sqrt{\sigma^2_i + \epsilon} + \beta .

    :math:`\sigma^2_i` is the authors' :math:`\overline{x^2} - \mu^2` of the mixed
    statistics, rewritten so that it never subtracts two large numbers (the
    mean-of-squares form loses all precision in float32 when a channel's mean is
    large compared with its spread). Each output row depends on its own input row
    and on ``reference`` only, never on the other rows of ``x``. Gradients flow
    into ``reference``.

    Args:
        x: the examples to normalise, ``[N, C]`` (dense) or ``[N, C, *]`` (conv).
        reference: the reference batch's activations at this layer, ``[R, C, *]``.
        weight: :math:`\gamma`, ``[C]``, or ``None`` for 1.
        bias: :math:`\beta`, ``[C]``, or ``None`` for 0.
        eps: added to the variance. Default ``1e-5`` (authors' ImageNet code).

    Shape:
        - x: ``[N, C, *]``; reference: ``[R, C, *]`` (same ``C, *``). Output: ``[N, C, *]``.

    Example::

        >>> reference, x = torch.randn(64, 128), torch.randn(8, 128)
        >>> virtual_batch_norm(x, reference).shape
        torch.Size([8, 128])
    """
    _check_layout("x", x)
    _check_layout("reference", reference)
    if reference.shape[1:] != x.shape[1:]:
        raise ValueError(
            f"expected reference of shape [R, {', '.join(map(str, x.shape[1:]))}] like x's examples "
            f"(got {tuple(reference.shape)})"
        )
    if reference.size(0) == 0:
        raise ValueError(f"expected a reference batch of at least one example (got shape {tuple(reference.shape)})")
    size = reference.size(0)
    new_coeff, old_coeff = 1.0 / (size + 1), size / (size + 1)
    var_ref, mean_ref = torch.var_mean(
        reference, dim=(0,) + _spatial_dims(reference), correction=0, keepdim=True
    )  # [1, C, 1...]
    if x.dim() > 2:
        var_own, mean_own = torch.var_mean(x, dim=_spatial_dims(x), correction=0, keepdim=True)  # [N, C, 1...]
    else:
        var_own, mean_own = torch.zeros_like(x), x  # a single value per feature: its own variance is 0
    mean = new_coeff * mean_own + old_coeff * mean_ref  # [N, C, 1...]
    var = new_coeff * var_own + old_coeff * var_ref + new_coeff * old_coeff * (mean_own - mean_ref).square()
    return _affine((x - mean) * torch.rsqrt(var + eps), weight, bias)


class VirtualBatchNorm(nn.Module):
    r"""Virtual batch normalization over a batch whose first rows are the reference batch (Section 3.5).

    .. math::

        y_i = \gamma\,\frac{x_i - \mu_i}{\sqrt{\sigma^2_i + \epsilon}} + \beta,\qquad
        (\mu_i, \sigma^2_i) = \text{stats}\big(\{x_i\} \cup \text{ref}\big)
        = \tfrac{1}{R+1}\text{stats}(x_i) \oplus \tfrac{R}{R+1}\text{stats}(\text{ref})

    The input holds ``reference_size`` reference rows first, then the examples.
    The reference rows are normalised with their own statistics (training-mode
    batch norm); each other row with the mixed statistics of
    :func:`virtual_batch_norm`, per feature for ``[N, C]`` and per channel for
    ``[N, C, H, W]``. The layer keeps no running statistics: train and eval
    behave the same. Wrap the whole network in :class:`WithReferenceBatch` so
    that the first rows are always the same fixed reference input.

    :math:`\gamma` is initialised :math:`\mathcal N(1, 0.02^2)` and :math:`\beta`
    to 0, as in the authors' ImageNet code (a random gamma breaks the symmetry
    between channels).

    Args:
        num_features: C, features (dense) or channels (conv).
        reference_size: R, the number of reference rows at the front of each input.
        eps: added to the variance. Default ``1e-5``.
        affine: learn :math:`\gamma, \beta`. Default ``True``.

    Shape:
        - Input: ``[R + N, C]`` or ``[R + N, C, *]``. Output: same shape.

    Example::

        >>> vbn = VirtualBatchNorm(64, reference_size=32)
        >>> vbn(torch.randn(32 + 10, 64, 8, 8)).shape
        torch.Size([42, 64, 8, 8])
    """

    def __init__(
        self,
        num_features: int,
        *,
        reference_size: int,
        eps: float = 1e-5,
        affine: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__()
        check_positive_int("num_features", num_features)
        check_positive_int("reference_size", reference_size)
        check_positive_float("eps", eps)
        self.num_features = num_features
        self.reference_size = reference_size
        self.eps = eps
        self.affine = affine
        if affine:
            self.weight = nn.Parameter(torch.empty(num_features, **factory_kwargs))
            self.bias = nn.Parameter(torch.empty(num_features, **factory_kwargs))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.affine:
            nn.init.normal_(self.weight, mean=1.0, std=0.02)
            nn.init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        _check_layout("input", input, self.num_features)
        if input.size(0) < self.reference_size:
            raise ValueError(
                f"expected at least reference_size={self.reference_size} rows (the reference batch first) "
                f"(got {input.size(0)}); wrap the network in WithReferenceBatch"
            )
        reference, examples = input[: self.reference_size], input[self.reference_size :]
        params = {"weight": self.weight, "bias": self.bias, "eps": self.eps}
        reference_out = reference_batch_norm(reference, **params)
        if examples.size(0) == 0:
            return reference_out
        return torch.cat([reference_out, virtual_batch_norm(examples, reference, **params)])

    def extra_repr(self) -> str:
        return f"{self.num_features}, reference_size={self.reference_size}, eps={self.eps}, affine={self.affine}"


class WithReferenceBatch(nn.Module):
    r"""Run ``module`` on ``[reference_input; x]`` and return only the rows of ``x``.

    This is how a network uses :class:`VirtualBatchNorm`: a reference input (for a
    generator, a noise batch ``z_ref`` drawn once) is stored as a buffer, so it is
    saved in checkpoints and moves with ``.to()``; every call prepends it, so
    every VBN layer inside sees the reference batch's activations, computed with
    the current parameters, in its first R rows; the R output rows are dropped.
    Each call therefore costs R extra rows of forward and backward, which is why
    the paper uses VBN in the generator only.

    Every :class:`VirtualBatchNorm` inside ``module`` must have
    ``reference_size == len(reference_input)``; this is checked here. The
    wrapped network must keep rows in order and one output row per input row (no
    batch-splitting wrappers such as ``DataParallel`` inside).

    Args:
        module: the network (e.g. a generator) containing VBN layers.
        reference_input: the fixed reference input, ``[R, *]``; copied.

    Shape:
        - Input: ``[N, *]`` (the same ``*`` as ``reference_input``).
        - Output: rows R onwards of ``module``'s output, ``[N, ...]``.

    Example::

        >>> net = nn.Sequential(nn.Linear(100, 64), VirtualBatchNorm(64, reference_size=16), nn.ReLU())
        >>> generator = WithReferenceBatch(net, torch.rand(16, 100))
        >>> generator(torch.rand(8, 100)).shape
        torch.Size([8, 64])
    """

    def __init__(self, module: nn.Module, reference_input: Tensor) -> None:
        super().__init__()
        if reference_input.dim() < 1 or reference_input.size(0) == 0:
            raise ValueError(
                f"expected reference_input of shape [R, *] with R >= 1 (got {tuple(reference_input.shape)})"
            )
        size = reference_input.size(0)
        for name, layer in module.named_modules():
            if isinstance(layer, VirtualBatchNorm) and layer.reference_size != size:
                raise ConfigError(
                    f"VirtualBatchNorm {name!r} has reference_size={layer.reference_size}, "
                    f"but the reference input has {size} rows; make them equal"
                )
        self.module = module
        self.register_buffer("reference_input", reference_input.detach().clone())

    @property
    def reference_size(self) -> int:
        """R, the number of reference rows prepended to each batch."""
        return self.reference_input.size(0)

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[1:] != self.reference_input.shape[1:]:
            layout = ", ".join(["N", *map(str, self.reference_input.shape[1:])])
            raise ValueError(f"expected input of shape [{layout}] like the reference input (got {tuple(x.shape)})")
        output = self.module(torch.cat([self.reference_input.to(x.dtype), x]))
        if output.size(0) != self.reference_size + x.size(0):
            raise ValueError(
                f"expected the wrapped module to return one row per input row ({self.reference_size + x.size(0)}) "
                f"(got {output.size(0)})"
            )
        return output[self.reference_size :]

    def extra_repr(self) -> str:
        return f"reference_size={self.reference_size}"
