"""The data-dependent initialisation: g = s/std, b = -s*mean/std, layer by layer in one pass."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from improved_gan.layers import GaussianNoise, WeightNormConv2d, WeightNormLinear, init_weight_norm


def _mlp(*, noise: float = 0.0, last_scale: float = 1.0, dtype=torch.float32) -> nn.Sequential:
    return nn.Sequential(
        WeightNormLinear(20, 30, init_std=0.1, dtype=dtype),
        nn.ReLU(),
        GaussianNoise(noise),
        WeightNormLinear(30, 10, init_std=0.1, dtype=dtype),
        nn.ReLU(),
        WeightNormLinear(10, 4, trainable_scale=True, init_scale=last_scale, dtype=dtype),
    )


def _record_outputs(model: nn.Module, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """The output (pre-activation) of every weight-normalised layer on ``x``."""
    outputs, handles = {}, []
    for name, module in model.named_modules():
        if isinstance(module, WeightNormLinear | WeightNormConv2d):
            handles.append(module.register_forward_hook(lambda m, i, o, name=name: outputs.__setitem__(name, o)))
    with torch.no_grad():
        model(x)
    for handle in handles:
        handle.remove()
    return outputs


def test_first_layer_gets_g_and_b_from_the_numpy_statistics():
    model = _mlp(dtype=torch.float64)
    x = torch.randn(500, 20, dtype=torch.float64) * 2 + 1
    first = model[0]
    v = first.weight_v.detach().numpy()
    pre = x.numpy() @ (v / np.sqrt((v**2).sum(axis=1, keepdims=True))).T  # g = 1, b = 0 before
    mean, std = pre.mean(axis=0), pre.std(axis=0)  # divisor n, as the reference
    init_weight_norm(model, x)
    np.testing.assert_allclose(first.weight_g.numpy(), 1 / std, rtol=1e-10)
    np.testing.assert_allclose(first.bias.detach().numpy(), -mean / std, rtol=1e-10, atol=1e-12)


def test_every_layer_has_mean_zero_and_unit_std_on_the_init_batch():
    model = _mlp(last_scale=0.1).eval()
    x = torch.rand(500, 20)
    names = init_weight_norm(model, x)
    assert names == ["0", "3", "5"]
    outputs = _record_outputs(model, x)
    # float32: the init makes these exact up to rounding of O(1) outputs (~1e-7) averaged over 500 rows;
    # 1e-5 and 1e-4 leave 100x, and an init from the wrong statistics misses by > 1e-2
    for name, target_std in (("0", 1.0), ("3", 1.0), ("5", 0.1)):
        torch.testing.assert_close(outputs[name].mean(0), torch.zeros(outputs[name].shape[1]), atol=1e-5, rtol=0)
        torch.testing.assert_close(
            outputs[name].std(0, correction=0), torch.full((outputs[name].shape[1],), target_std), atol=1e-4, rtol=0
        )


def test_training_mode_initialises_on_the_noisy_pass_as_the_reference():
    model = _mlp(noise=0.5)  # training mode: noise on during the init pass
    x = torch.rand(500, 20)
    torch.manual_seed(123)
    init_weight_norm(model, x)
    torch.manual_seed(123)  # the same noise again: the recorded pass reproduces the init pass
    outputs = _record_outputs(model, x)
    torch.testing.assert_close(outputs["3"].std(0, correction=0), torch.ones(10), atol=1e-4, rtol=0)
    eval_std = _record_outputs(model.eval(), x)["3"].std(0, correction=0)
    assert not torch.allclose(eval_std, torch.ones(10), atol=1e-2)  # the noise mattered


def test_conv_statistics_are_per_channel_over_batch_and_positions():
    conv = WeightNormConv2d(3, 5, 3, padding=1, dtype=torch.float64)
    x = torch.randn(50, 3, 8, 8, dtype=torch.float64)
    init_weight_norm(conv, x)
    y = conv(x).detach()
    torch.testing.assert_close(y.mean((0, 2, 3)), torch.zeros(5, dtype=torch.float64), atol=1e-10, rtol=0)
    torch.testing.assert_close(y.std((0, 2, 3), correction=0), torch.ones(5, dtype=torch.float64))


def test_layers_without_init_scale_are_left_alone_and_hooks_are_removed():
    model = nn.Sequential(WeightNormLinear(4, 4), WeightNormLinear(4, 2, init_scale=None))
    before = {k: v.clone() for k, v in model[1].state_dict().items()}
    assert init_weight_norm(model, torch.randn(10, 4)) == ["0"]
    for key, value in model[1].state_dict().items():
        assert torch.equal(value, before[key])
    assert not model[0]._forward_hooks and not model[1]._forward_hooks


def test_runs_in_full_precision_under_autocast_and_without_grad():
    model = _mlp()
    x = torch.rand(200, 20)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        init_weight_norm(model, x)
    assert model[0].bias.grad is None
    std = _record_outputs(model.eval(), x)["0"].std(0, correction=0)
    torch.testing.assert_close(std, torch.ones(30), atol=1e-4, rtol=0)


def test_unreached_layer_is_an_error():
    class SkipsALayer(nn.Module):
        def __init__(self):
            super().__init__()
            self.used, self.unused = WeightNormLinear(3, 3), WeightNormLinear(3, 3)

        def forward(self, x):
            return self.used(x)

    with pytest.raises(ValueError, match="did not reach.*unused"):
        init_weight_norm(SkipsALayer(), torch.randn(10, 3))


@pytest.mark.parametrize("batch", [torch.randn(1, 4), torch.ones(10, 4)], ids=["one-row", "constant"])
def test_degenerate_batches_are_clear_errors(batch):
    with pytest.raises(ValueError, match="at least 2 values|constant pre-activations"):
        init_weight_norm(WeightNormLinear(4, 3), batch)
