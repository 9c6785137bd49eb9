"""Data-dependent initialisation of every weight-normalised layer of a model.

Salimans & Kingma (2016), Section 3, and the paper's reference code: before
training, one forward pass over a batch of real data (500 examples in the
reference) sets, layer by layer from the input up, each weight-normalised
layer's scale and bias so that its pre-activations on that batch have mean 0
and standard deviation ``init_scale`` (``g = s/std``, ``b = -s mean/std``).
Each layer is initialised on the output of the already initialised layers
below it, in the same pass.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from improved_gan.layers.weight_norm import WeightNormLayer

__all__ = ["init_weight_norm"]


def init_weight_norm(model: nn.Module, batch: Tensor) -> list[str]:
    """Run the data-dependent initialisation of ``model``'s weight-normalised layers.

    One forward pass of ``batch`` through ``model``, with every
    :class:`~improved_gan.layers.WeightNormLayer` whose ``init_scale`` is not None
    re-initialised on its own output (:meth:`WeightNormLayer.data_dependent_init`)
    before that output goes on to the next layer. Layers that initialise from
    their *input* (``initialises_from_input`` true, e.g. a weight-normalised
    :class:`~improved_gan.techniques.MinibatchDiscrimination`) get
    ``data_dependent_init(input)`` instead, whose return value is their output. Layers built with
    ``init_scale=None`` keep their values (the reference does not initialise the
    MNIST generator's output layer from data).

    The pass runs in the model's current mode: the reference ran it in training
    mode, with the discriminator's noise and dropout on, so a freshly built model
    (which is in training mode) matches it; call ``model.eval()`` first for a
    noise-free initialisation. Gradients and autocast are off during the pass (the
    statistics are computed in float32 or float64). Afterwards the model is ready
    to train; build optimisers and parameter averages (EMA) after this call.

    Args:
        model: any module containing weight-normalised layers; it is called as
            ``model(batch)``.
        batch: the model's input, e.g. ``[500, 1, 28, 28]`` real images for a
            discriminator or ``[100, latent_dim]`` latent vectors for a generator.

    Returns:
        The qualified names of the layers that were initialised, input first (the
        class name if ``model`` itself is the layer).

    Raises:
        ValueError: if a layer due for initialisation is not reached by the
            forward pass, or its pre-activations cannot be normalised (see
            :meth:`WeightNormLayer.data_dependent_init`).
    """
    pending: dict[nn.Module, tuple[str, bool]] = {}  # layer -> (its name, whether it initialises from its input)
    for name, module in model.named_modules():
        if getattr(module, "initialises_from_input", False):  # data_dependent_init(input) returns the output
            pending[module] = (name or type(model).__name__, True)
        elif isinstance(module, WeightNormLayer) and module.init_scale is not None:  # data_dependent_init(output)
            pending[module] = (name or type(model).__name__, False)
    initialised: list[str] = []
    handles = []

    def initialise_once(module: nn.Module, inputs, output: Tensor) -> Tensor | None:
        due = pending.pop(module, None)
        if due is None:  # a layer used twice in one pass is initialised on its first use
            return None
        name, from_input = due
        initialised.append(name)
        return module.data_dependent_init(inputs[0] if from_input else output)

    try:
        for module in pending:
            handles.append(module.register_forward_hook(initialise_once))
        with torch.no_grad(), torch.autocast(batch.device.type, enabled=False):
            model(batch)
    finally:
        for handle in handles:
            handle.remove()
    if pending:
        missing = ", ".join(sorted(name for name, _ in pending.values()))
        raise ValueError(f"the forward pass did not reach these weight-normalised layers: {missing}")
    return initialised
