"""The techniques on a CUDA device agree with the CPU (run with ``-m gpu``)."""

from __future__ import annotations

import pytest
import torch

from improved_gan.techniques import (
    HistoricalAverage,
    MinibatchDiscrimination,
    VirtualBatchNorm,
    WithReferenceBatch,
    feature_matching_loss,
    minibatch_features,
    smoothed_discriminator_loss,
)

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def test_minibatch_layer_on_cuda_matches_cpu_and_gradchecks():
    layer = MinibatchDiscrimination(12, num_kernels=6, kernel_dim=3, dtype=torch.float64)
    x, reference = torch.randn(9, 12, dtype=torch.float64), torch.randn(5, 12, dtype=torch.float64)
    expected, expected_ref = layer(x), layer(x, reference)
    layer.cuda()
    torch.testing.assert_close(layer(x.cuda()).cpu(), expected)
    torch.testing.assert_close(layer(x.cuda(), reference.cuda()).cpu(), expected_ref)
    m = (0.3 * torch.randn(5, 3, 2, dtype=torch.float64, device="cuda")).requires_grad_(True)
    assert torch.autograd.gradcheck(minibatch_features, (m,))


def test_factory_kwargs_place_parameters_on_cuda():
    for module in (
        MinibatchDiscrimination(4, num_kernels=2, kernel_dim=2, device="cuda", dtype=torch.float16),
        VirtualBatchNorm(4, reference_size=2, device="cuda", dtype=torch.float16),
    ):
        assert all(p.device.type == "cuda" and p.dtype == torch.float16 for p in module.parameters())


def test_vbn_wrapper_on_cuda_matches_cpu():
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), VirtualBatchNorm(8, reference_size=4), torch.nn.ReLU())
    generator = WithReferenceBatch(net, torch.randn(4, 3, 6, 6)).double()
    z = torch.randn(3, 3, 6, 6, dtype=torch.float64)
    expected = generator(z)
    torch.testing.assert_close(generator.cuda()(z.cuda()).cpu(), expected)


def test_losses_and_history_on_cuda():
    real, fake = torch.randn(6, 5, device="cuda"), torch.randn(4, 5, device="cuda")
    torch.testing.assert_close(feature_matching_loss(real, fake).cpu(), feature_matching_loss(real.cpu(), fake.cpu()))
    torch.testing.assert_close(
        smoothed_discriminator_loss(real[:, 0], fake[:, 0]).cpu(),
        smoothed_discriminator_loss(real[:, 0].cpu(), fake[:, 0].cpu()),
    )
    model = torch.nn.Linear(3, 3).cuda()
    history = HistoricalAverage(model.parameters())
    with torch.no_grad():
        model.weight.add_(1.0)
    history.update()
    restored = HistoricalAverage(model.parameters())
    restored.load_state_dict(history.state_dict())
    assert restored.averages[0].device.type == "cuda"
    torch.testing.assert_close(restored.penalty(), history.penalty())
