"""torch.compile friendliness: every model traces into one graph, with no graph break."""

from __future__ import annotations

import pytest
import torch

from improved_gan.layers import init_weight_norm
from improved_gan.models.cifar import CIFARDiscriminator, CIFARGenerator
from improved_gan.models.mnist import MNISTDiscriminator, MNISTGenerator


@pytest.mark.parametrize(
    "model, example",
    [
        (MNISTDiscriminator(), torch.rand(8, 784)),
        (MNISTGenerator(), torch.rand(8, 100)),
        (CIFARDiscriminator(widths=(8, 16), minibatch_kernels=4), torch.rand(4, 3, 32, 32)),
        (CIFARGenerator(norm="virtual", reference_size=4), torch.rand(4, 100)),
    ],
    ids=["mnist-D", "mnist-G", "cifar-D-mbd", "cifar-G-vbn"],
)
def test_no_graph_breaks(model, example):
    torch._dynamo.reset()
    explanation = torch._dynamo.explain(model)(example)
    assert explanation.graph_break_count == 0, explanation.break_reasons
    assert explanation.graph_count == 1


@pytest.mark.slow
def test_compiled_mnist_discriminator_matches_eager_on_cpu():
    discriminator = MNISTDiscriminator()
    x = torch.rand(300, 784)
    init_weight_norm(discriminator, x)
    compiled = torch.compile(discriminator)
    discriminator.eval()
    torch.testing.assert_close(compiled(x).logits, discriminator(x).logits, rtol=1e-4, atol=1e-4)
