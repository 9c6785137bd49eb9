r"""The MNIST discriminator's forward and backward passes, written out by hand.

Layers ``l = 1..L`` (``L - 1`` hidden ReLU layers, then the class logits), each
weight-normalised, with Gaussian noise on its input (Section 6.1):

.. math::
    a_0 = x + \sigma_0 \varepsilon_0, \quad
    p_l = a_{l-1} v_l^T, \quad
    h_l = \mathrm{ReLU}(p_l \odot s_l + b_l), \quad
    a_l = h_l + \sigma_l \varepsilon_l, \quad
    \text{logits} = p_L \odot s_L + b_L

with :math:`s = g / \lVert v \rVert`; the features matched by the generator
are :math:`h_{L-1}`. Backward, with :math:`\delta_l = \partial \ell / \partial
(p_l \odot s_l + b_l)`:

.. math::
    \frac{\partial \ell}{\partial b_l} = \textstyle\sum_n \delta_l, \quad
    \frac{\partial \ell}{\partial s_l} = \textstyle\sum_n \delta_l \odot p_l, \quad
    \frac{\partial \ell}{\partial v_l} = (\delta_l \odot s_l)^T a_{l-1}
        - \frac{s_l}{\lVert v_l \rVert^2} \frac{\partial \ell}{\partial s_l} \odot v_l, \quad
    \frac{\partial \ell}{\partial g_l} = \frac{1}{\lVert v_l \rVert} \frac{\partial \ell}{\partial s_l},

:math:`\partial \ell / \partial a_{l-1} = (\delta_l \odot s_l) v_l` and
:math:`\delta_{l-1} = \partial \ell / \partial a_{l-1} \odot [h_{l-1} > 0]`
(the noise adds a constant). Writing it out lets each pass compute only what
its step needs: the discriminator's step no gradient for the input, the
generator's step no parameter gradient, no logits, and input gradients only
for the generated rows.

The three products of each layer (forward, weight gradient, input gradient)
take their operands in the compute dtype (bfloat16 or float32) and return it;
the element-wise work, the kept activations, the scales and the bias and
scale gradients are float32. The weight gradients reach the optimiser as the
products' output plus the float32 weight-norm term
(:class:`~improved_gan.training.steps.fast.adam.Gradient`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from improved_gan.training.steps.fast.adam import Gradient
from improved_gan.training.steps.fast.networks import DiscriminatorLayers
from improved_gan.training.steps.fast.ops import RELU, Ops
from improved_gan.training.steps.fast.weights import (
    DerivedWeights,
    WeightNormWeights,
    copy_target,
    module_tensors,
    weight_norm_weights,
)


@dataclass
class LayerTape:
    """What one layer's backward pass needs: its input ``a`` (compute dtype), its
    product ``p`` (compute dtype) and, for hidden layers, its ReLU output ``h`` (float32)."""

    a: Tensor
    p: Tensor
    h: Tensor | None


@dataclass
class DiscriminatorPass:
    """A forward pass: ``logits [N, K]`` (None when not computed), ``features [N, F]``, the tape
    and the weights it used (the backward pass uses the same)."""

    logits: Tensor | None
    features: Tensor
    tape: list[LayerTape]
    weights: list[WeightNormWeights]


class FastDiscriminator:
    """Forward and backward passes of a :class:`DiscriminatorLayers` network.

    Args:
        layers: the discriminator's layers (its parameters are read, never copied).
        dtype: the dtype of the matrix products (torch.float32 or torch.bfloat16).
        ops: the element-wise work, :class:`~improved_gan.training.steps.fast.ops.NativeOps` or
            :class:`~improved_gan.training.steps.fast.ops.TorchOps`.
    """

    def __init__(self, layers: DiscriminatorLayers, *, dtype: torch.dtype, ops: Ops) -> None:
        self.layers = [*layers.hidden, layers.output]
        self.dtype = dtype
        self.ops = ops
        modules = [d.layer for d in self.layers]
        self.weights: DerivedWeights[list[WeightNormWeights]] = DerivedWeights(
            module_tensors(modules), lambda: [weight_norm_weights(m, dtype, sumsq=ops.row_sumsq) for m in modules]
        )

    # -- forward --------------------------------------------------------------------------
    def forward(self, x: Tensor, *, logits: bool = True) -> DiscriminatorPass:
        """The pass of the modules' current mode (noise in training mode only). ``x [N, C, H, W]``
        or ``[N, D]`` float32; ``logits=False`` stops at the features (the head's noise is not drawn)."""
        weights = self.weights.get()
        ops, hidden = self.ops, len(self.layers) - 1
        noise = [d.noise for d in self.layers]
        key = ops.new_key() if any(noise) else 0  # no draw from the global generator without noise
        a = ops.input_noise(x.reshape(len(x), -1), noise[0], self.dtype, key, 0)
        tape = []
        for index in range(hidden):
            w = weights[index]
            p = torch.mm(a, w.v.t())  # [N, U]
            last_hidden = index == hidden - 1
            next_dtype = None if last_hidden and not logits else self.dtype
            h, a_next = ops.scale_bias_relu_noise(p, w.scale, w.bias, noise[index + 1], next_dtype, key, index + 1)
            tape.append(LayerTape(a, p, h))
            a = a_next
        features = tape[-1].h  # [N, F]
        if not logits:
            return DiscriminatorPass(None, features, tape, weights)
        w = weights[-1]
        p = torch.mm(a, w.v.t())  # [N, K]
        tape.append(LayerTape(a, p, None))
        return DiscriminatorPass(torch.addcmul(w.bias, p, w.scale), features, tape, weights)

    # -- backward -------------------------------------------------------------------------
    def backward_parameters(self, forward: DiscriminatorPass, grad_logits: Tensor) -> list[Gradient]:
        """Every trainable parameter's gradient from ``grad_logits [N, K]`` (the
        discriminator's step: no gradient for the input, none for the features)."""
        weights = forward.weights
        gradients = []
        grad, activation = grad_logits.float(), None  # d loss / d (layer output), and the layer's activation
        for index in range(len(self.layers) - 1, -1, -1):
            w, record, layer = weights[index], forward.tape[index], self.layers[index].layer
            dp, grad_bias, grad_scale = self.ops.dense_backward(grad, record.h, activation, record.p, w.scale, self.dtype)
            # d/dv = dp^T a  plus the scale's share: d s / d v = -s v / ||v||^2
            gradients.append(Gradient(
                layer.weight_v, torch.mm(dp.t(), record.a), -grad_scale * w.scale * w.inv_norm.square(),
                copy=copy_target(layer.weight_v, w.v), row_sumsq=w.sumsq,
            ))
            gradients.append(Gradient(layer.bias, grad_bias))
            if layer.trainable_scale:
                gradients.append(Gradient(layer.weight_g, grad_scale * w.inv_norm))
            if index > 0:
                grad, activation = torch.mm(dp, w.v), RELU  # [N, I]
        return gradients

    def parameters(self) -> list[Tensor]:
        """The parameters :meth:`backward_parameters` gives gradients for."""
        layers = [d.layer for d in self.layers]
        return [t for m in layers for t in (m.weight_v, m.bias, m.weight_g if m.trainable_scale else None) if t is not None]

    def parameters_updated(self) -> None:
        """After :meth:`~improved_gan.training.steps.fast.adam.FusedAdamUpdate.step`: the new scales
        (the optimiser wrote the copies and the norms)."""
        for d, w in zip(self.layers, self.weights.get_unchecked()):
            w.rescale(d.layer.weight_g)
        self.weights.restamp()

    def backward_input(self, forward: DiscriminatorPass, grad_features: Tensor, rows: slice) -> Tensor:
        """``d loss / d x`` for the examples ``rows`` of a ``logits=False`` pass, from
        ``grad_features [len(rows), F]``; parameters get no gradient. Returns ``[len(rows), D]`` float32."""
        weights = forward.weights
        grad = grad_features
        for index in range(len(forward.tape) - 1, -1, -1):
            h = forward.tape[index].h[rows]
            dp, _, _ = self.ops.dense_backward(grad, h, RELU, None, weights[index].scale, self.dtype)
            grad = torch.mm(dp, weights[index].v)  # [n, I]
        return grad.float()
