r"""The MNIST generator's forward and backward passes, written out by hand.

Blocks ``k = 1..K`` then a weight-normalised sigmoid output (Section 6.1,
docs/reference.md):

.. math::
    q_k = u_{k-1} W_k^T, \quad
    \hat q_k = \frac{q_k - \mu_k}{\sqrt{\sigma_k^2 + \epsilon}}, \quad
    u_k = \mathrm{softplus}(\hat q_k + c_k), \quad
    x = \mathrm{sigmoid}(u_K v^T \odot s + b)

with :math:`u_0 = z`, the batch mean and (biased) variance :math:`\mu_k,
\sigma_k^2` and :math:`s = g / \lVert v \rVert`. Backward through the batch
normalisation, with :math:`\gamma = \partial \ell / \partial (\hat q + c)`
and :math:`\bar{\cdot}` the batch mean:

.. math::
    \frac{\partial \ell}{\partial q} = \frac{\gamma - \bar\gamma
        - \hat q \, \overline{\gamma \hat q}}{\sqrt{\sigma^2 + \epsilon}},
    \qquad \frac{\partial \ell}{\partial c} = \textstyle\sum_n \gamma,

and softplus' derivative is the sigmoid. The products run in the compute
dtype, everything else in float32.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from improved_gan.training.steps.fast.adam import Gradient
from improved_gan.training.steps.fast.networks import GeneratorLayers
from improved_gan.training.steps.fast.ops import SIGMOID, Ops
from improved_gan.training.steps.fast.weights import (
    DerivedWeights,
    WeightNormWeights,
    compute_copy,
    copy_target,
    module_tensors,
    weight_norm_weights,
)


@dataclass
class BlockTape:
    """One block's input ``u`` (compute dtype), normalised product ``q_hat``, softplus'
    derivative ``slope`` (float32 ``[N, U]``) and the batch's ``inv_std [U]``."""

    u: Tensor
    q_hat: Tensor
    slope: Tensor
    inv_std: Tensor


@dataclass
class GeneratorPass:
    """A forward pass: ``images [N, D]`` (float32, flat) and the tape."""

    images: Tensor
    blocks: list[BlockTape]
    u: Tensor          # the output layer's input (compute dtype)
    p: Tensor          # the output layer's product (compute dtype)
    weights: tuple[list[Tensor], WeightNormWeights]  # those the pass used


class FastGenerator:
    """Forward and backward passes of a :class:`GeneratorLayers` network.

    Args:
        layers: the generator's layers (its parameters are read, never copied).
        dtype: the dtype of the matrix products.
        ops: the element-wise work (:mod:`~improved_gan.training.steps.fast.ops`).
    """

    def __init__(self, layers: GeneratorLayers, *, dtype: torch.dtype, ops: Ops) -> None:
        self.layers = layers
        self.dtype = dtype
        self.ops = ops
        modules = [*(b.linear for b in layers.blocks), *(b.norm for b in layers.blocks), layers.output]
        self.weights: DerivedWeights[tuple[list[Tensor], WeightNormWeights]] = DerivedWeights(
            module_tensors(modules),
            lambda: (
                [compute_copy(b.linear.weight, dtype) for b in layers.blocks],
                weight_norm_weights(layers.output, dtype, sumsq=ops.row_sumsq),
            ),
        )

    def forward(self, z: Tensor) -> GeneratorPass:
        """``z [N, latent] -> images [N, D]`` in training mode (batch statistics)."""
        block_weights, out = self.weights.get()
        u = z.to(self.dtype)
        tape = []
        for block, weight in zip(self.layers.blocks, block_weights):
            q = torch.mm(u, weight.t())  # [N, U]
            q_hat, slope, inv_std, u_next = self.ops.batch_norm_softplus(q, block.norm.bias.detach(), block.norm.eps, self.dtype)
            tape.append(BlockTape(u, q_hat, slope, inv_std))
            u = u_next
        p = torch.mm(u, out.v.t())  # [N, D]
        images = torch.sigmoid(torch.addcmul(out.bias, p, out.scale))
        return GeneratorPass(images, tape, u, p, (block_weights, out))

    def backward(self, forward: GeneratorPass, grad_images: Tensor) -> list[Gradient]:
        """Every trainable parameter's gradient from ``grad_images [N, D]``."""
        block_weights, out = forward.weights
        layer = self.layers.output
        dp, grad_bias, grad_scale = self.ops.dense_backward(
            grad_images, forward.images, SIGMOID, forward.p, out.scale, self.dtype
        )
        gradients = [
            Gradient(
                layer.weight_v, torch.mm(dp.t(), forward.u), -grad_scale * out.scale * out.inv_norm.square(),
                copy=copy_target(layer.weight_v, out.v), row_sumsq=out.sumsq,
            ),
            Gradient(layer.bias, grad_bias),
        ]
        if layer.trainable_scale:
            gradients.append(Gradient(layer.weight_g, grad_scale * out.inv_norm))
        grad_u = torch.mm(dp, out.v)
        for index in range(len(self.layers.blocks) - 1, -1, -1):
            block, record, weight = self.layers.blocks[index], forward.blocks[index], block_weights[index]
            grad_q, grad_bias = self.ops.batch_norm_softplus_backward(
                grad_u, record.slope, record.q_hat, record.inv_std, self.dtype
            )
            gradients.append(Gradient(block.norm.bias, grad_bias))
            gradients.append(Gradient(
                block.linear.weight, torch.mm(grad_q.t(), record.u), copy=copy_target(block.linear.weight, weight)
            ))
            if index > 0:
                grad_u = torch.mm(grad_q, weight)
        return gradients

    def parameters(self) -> list[Tensor]:
        """The parameters :meth:`backward` gives gradients for."""
        out = self.layers.output
        blocks = [t for b in self.layers.blocks for t in (b.linear.weight, b.norm.bias)]
        return blocks + [t for t in (out.weight_v, out.bias, out.weight_g if out.trainable_scale else None) if t is not None]

    def parameters_updated(self) -> None:
        """After :meth:`~improved_gan.training.steps.fast.adam.FusedAdamUpdate.step`: the new output scale."""
        _, out = self.weights.get_unchecked()
        out.rescale(self.layers.output.weight_g)
        self.weights.restamp()
