"""The CIFAR-10/SVHN models against the numbers derived by hand from docs/reference.md."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from improved_gan.layers import GaussianNoise, WeightNormConv2d, WeightNormLinear, init_weight_norm
from improved_gan.models import DiscriminatorOutput
from improved_gan.models.cifar import CIFARDiscriminator, CIFARGenerator
from improved_gan.techniques import MinibatchDiscrimination, VirtualBatchNorm


def _trainable(model) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _frozen(model) -> int:
    return sum(b.numel() for name, b in model.named_buffers() if name.endswith("weight_g"))


def _images(n: int) -> torch.Tensor:
    return torch.rand(n, 3, 32, 32) * 2 - 1


# ---- parameter counts and shapes, derived by hand -------------------------------------------


def test_cifar10_discriminator_parameter_count_by_hand():
    # Weight-normalised 3x3 convs: v (out*in*9) + b (out) trainable, g (out) frozen.
    #   3 -> 96:     96*3*9   +  96 =   2,688
    #  96 -> 96:     96*96*9  +  96 =  83,040  (twice, the second with stride 2: 166,080)
    #  96 -> 192:   192*96*9  + 192 = 166,080
    # 192 -> 192:  192*192*9  + 192 = 331,968  (three times: two padded, one "valid": 995,904)
    # 1x1 convs:   192*192    + 192 =  37,056  (twice: 74,112)
    # dense 192 -> 10 with trainable g: 1,920 + 10 + 10 = 1,940
    # total 2,688 + 166,080 + 166,080 + 995,904 + 74,112 + 1,940 = 1,406,804
    # frozen scales: 3*96 + 6*192 = 1,440
    discriminator = CIFARDiscriminator()
    assert _trainable(discriminator) == 1_406_804
    assert _frozen(discriminator) == 1_440


def test_svhn_discriminator_parameter_count_by_hand():
    # widths (64, 128): 3->64: 1,728+64 = 1,792; 64->64: 36,864+64 = 36,928 (x2 = 73,856);
    # 64->128: 73,728+128 = 73,856; 128->128: 147,456+128 = 147,584 (x3 = 442,752);
    # 1x1: 16,384+128 = 16,512 (x2 = 33,024); dense: 1,280+10+10 = 1,300
    # total 1,792 + 73,856 + 73,856 + 442,752 + 33,024 + 1,300 = 626,580; frozen 3*64 + 6*128 = 960
    discriminator = CIFARDiscriminator(widths=(64, 128))
    assert _trainable(discriminator) == 626_580
    assert _frozen(discriminator) == 960


def test_minibatch_discrimination_discriminator_parameter_count_by_hand():
    # the CIFAR-10 model + T (192*100*5 = 96,000) + its bias (100) + 100 more inputs to the dense
    # layer (100*10 = 1,000): 1,406,804 + 96,100 + 1,000 = 1,503,904; the authors' weight-normalised
    # layer (the default) adds T's log-scales, 100*5 = 500
    discriminator = CIFARDiscriminator(minibatch_kernels=100)
    assert _trainable(discriminator) == 1_503_904 + 500
    assert _trainable(CIFARDiscriminator(minibatch_kernels=100, minibatch_weight_norm=False)) == 1_503_904


def test_generator_parameter_count_by_hand():
    # dense 100 -> 8192 without bias: 819,200, batch-norm bias over 8,192 units
    # deconv 512 -> 256, 5x5, no bias: 512*256*25 = 3,276,800, batch-norm bias 256
    # deconv 256 -> 128: 256*128*25 = 819,200, batch-norm bias 128
    # weight-normalised deconv 128 -> 3: 128*3*25 = 9,600 + b 3 + trainable g 3
    # total 819,200 + 8,192 + 3,276,800 + 256 + 819,200 + 128 + 9,606 = 4,933,382
    assert _trainable(CIFARGenerator()) == 4_933_382
    # virtual batch norm adds a learned scale per unit: 8,192 + 256 + 128 = 8,576 more
    assert _trainable(CIFARGenerator(norm="virtual")) == 4_933_382 + 8_576


def test_discriminator_spatial_sizes_and_weight_shapes():
    discriminator = CIFARDiscriminator().eval()
    sizes, shapes = [], []
    for module in discriminator.modules():
        if isinstance(module, WeightNormConv2d):
            shapes.append(tuple(module.weight_v.shape))
            module.register_forward_hook(lambda m, i, o: sizes.append(tuple(o.shape[1:])))
    out = discriminator(_images(2))
    assert sizes == [
        (96, 32, 32), (96, 32, 32), (96, 16, 16),
        (192, 16, 16), (192, 16, 16), (192, 8, 8),
        (192, 6, 6), (192, 6, 6), (192, 6, 6),
    ]
    assert shapes[0] == (96, 3, 3, 3) and shapes[6] == (192, 192, 3, 3) and shapes[7] == (192, 192, 1, 1)
    assert out.logits.shape == (2, 10) and out.features.shape == (2, 192)


def test_generator_transposed_convs_double_4_8_16_32():
    generator = CIFARGenerator()
    sizes = []
    for module in generator.modules():
        if isinstance(module, nn.ConvTranspose2d) or type(module).__name__ == "WeightNormConvTranspose2d":
            module.register_forward_hook(lambda m, i, o: sizes.append((i[0].shape[-1], o.shape[-1], o.shape[1])))
    generator(generator.sample_latent(4))
    assert sizes == [(4, 8, 256), (8, 16, 128), (16, 32, 3)]


# ---- the variants ---------------------------------------------------------------------------


def test_feature_matching_variant_corrupts_the_input_with_dropout():
    discriminator = CIFARDiscriminator()
    assert [m.p for m in discriminator.modules() if isinstance(m, nn.Dropout)] == [0.2, 0.5, 0.5]
    assert not any(isinstance(m, GaussianNoise) for m in discriminator.modules())
    assert not discriminator.cross_sample


def test_minibatch_variant_uses_input_noise_and_mbd_after_pooling():
    discriminator = CIFARDiscriminator(minibatch_kernels=100)
    assert [m.p for m in discriminator.modules() if isinstance(m, nn.Dropout)] == [0.5, 0.5]
    assert [m.std for m in discriminator.modules() if isinstance(m, GaussianNoise)] == [0.2]
    mbd = discriminator.head[0]
    assert isinstance(mbd, MinibatchDiscrimination) and (mbd.in_features, mbd.num_kernels, mbd.kernel_dim) == (192, 100, 5)
    assert discriminator.head[1].in_features == 292
    assert discriminator.cross_sample
    out = discriminator.eval()(_images(6))
    assert out.features.shape == (6, 192)  # feature matching still reads the pooled features


def test_explicit_corruption_overrides_the_defaults():
    discriminator = CIFARDiscriminator(dropout=False, input_noise=0.1)
    assert not any(isinstance(m, nn.Dropout) for m in discriminator.modules())
    assert [m.std for m in discriminator.modules() if isinstance(m, GaussianNoise)] == [0.1]
    with_dropout = CIFARDiscriminator(minibatch_kernels=50, input_dropout=0.2, input_noise=0.0)
    assert [m.p for m in with_dropout.modules() if isinstance(m, nn.Dropout)] == [0.2, 0.5, 0.5]


def test_scales_are_frozen_except_in_the_last_layers():
    discriminator, generator = CIFARDiscriminator(), CIFARGenerator()
    layers = [m for m in discriminator.modules() if isinstance(m, WeightNormConv2d | WeightNormLinear)]
    assert [m.weight_g.requires_grad for m in layers] == [False] * 9 + [True]
    assert generator.net[10].weight_g.requires_grad
    assert (layers[-1].init_scale, generator.net[10].init_scale) == (0.1, 0.1)


# ---- forward behaviour -----------------------------------------------------------------------


def test_generator_attributes_and_range():
    generator = CIFARGenerator()
    assert generator.image_shape == (3, 32, 32) and generator.output_range == (-1.0, 1.0)
    images = generator(generator.sample_latent(16) * 100)
    assert images.shape == (16, 3, 32, 32)
    assert -1 <= images.min() and images.max() <= 1 and images.isfinite().all()


def test_virtual_batch_norm_generator_treats_each_row_alone():
    generator = CIFARGenerator(norm="virtual", reference_size=8)
    assert sum(isinstance(m, VirtualBatchNorm) for m in generator.modules()) == 3
    assert "net.reference_input" in generator.state_dict()
    z = generator.sample_latent(6)
    together = generator(z)
    alone = torch.cat([generator(z[i : i + 1]) for i in range(6)])
    # float32 through 4 layers, products of other batch shapes (rows 1 and 6) rounding differently:
    # ~1e-6 relative; batch norm's coupling, below, moves a row by more than 1e-4
    torch.testing.assert_close(together, alone, rtol=1e-4, atol=1e-5)
    batch_norm = CIFARGenerator()  # the reference generator couples the rows of a batch
    assert not torch.allclose(batch_norm(z)[:1], batch_norm(z[:3])[:1], atol=1e-4)


def test_data_dependent_init_of_the_discriminator():
    discriminator = CIFARDiscriminator().eval()
    x = _images(20)
    names = init_weight_norm(discriminator, x)
    assert len(names) == 10
    outputs = []
    for module in discriminator.modules():
        if isinstance(module, WeightNormConv2d | WeightNormLinear):
            module.register_forward_hook(lambda m, i, o: outputs.append(o.transpose(0, 1).flatten(1)))
    discriminator(x)
    for output, target in zip(outputs, [1.0] * 9 + [0.1]):
        assert output.mean(1).abs().max() < 1e-4 * max(target, 1)
        assert (output.std(1, correction=0) - target).abs().max() < 1e-3


def test_data_dependent_init_of_the_generator_output_layer():
    generator = CIFARGenerator()
    z = generator.sample_latent(50)
    assert init_weight_norm(generator, z) == ["net.10"]
    recorded = []
    generator.net[10].register_forward_hook(lambda m, i, o: recorded.append(o))
    generator(z)
    per_channel = recorded[0].transpose(0, 1).flatten(1)
    assert per_channel.mean(1).abs().max() < 1e-5
    assert (per_channel.std(1, correction=0) - 0.1).abs().max() < 1e-4


def test_eval_is_deterministic_training_is_not_and_batches_concatenate():
    discriminator = CIFARDiscriminator()
    x = _images(4)
    assert not torch.equal(discriminator(x).logits, discriminator(x).logits)
    discriminator.eval()
    first = discriminator(x)
    assert isinstance(first, DiscriminatorOutput) and torch.equal(discriminator(x).logits, first.logits)
    together = discriminator(torch.cat([x, _images(3)]))
    # float32 through 10 layers with another batch shape (7 rows against 4): rounding, ~1e-6 relative
    torch.testing.assert_close(together.split([4, 3])[0].logits, first.logits, rtol=1e-4, atol=1e-5)


def test_float64_end_to_end():
    generator = CIFARGenerator(dtype=torch.float64)
    discriminator = CIFARDiscriminator(widths=(8, 16), dtype=torch.float64)
    images = generator(generator.sample_latent(4))
    init_weight_norm(discriminator, images)
    out = discriminator(images)
    assert images.dtype == out.logits.dtype == out.features.dtype == torch.float64


def test_bfloat16_autocast():
    generator = CIFARGenerator()
    discriminator = CIFARDiscriminator(widths=(8, 16), minibatch_kernels=10)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = discriminator(generator(generator.sample_latent(4)))
    assert out.logits.shape == (4, 10) and out.logits.isfinite().all()


@pytest.mark.parametrize(
    "model, bad_input, message",
    [
        (CIFARDiscriminator(), torch.rand(2, 1, 28, 28), r"\[N, 3, 32, 32\]"),
        (CIFARDiscriminator(), torch.rand(2, 3, 64, 64), r"\(got \[2, 3, 64, 64\]\)"),
        (CIFARGenerator(), torch.rand(2, 128), r"\[N, 100\]"),
    ],
)
def test_wrong_shapes_are_clear_value_errors(model, bad_input, message):
    with pytest.raises(ValueError, match=message):
        model(bad_input)


@pytest.mark.parametrize(
    "factory, message",
    [
        (lambda: CIFARGenerator(norm="layer"), "'batch' or 'virtual'"),
        (lambda: CIFARGenerator(norm="virtual", reference_size=0), "reference_size"),
        (lambda: CIFARDiscriminator(widths=(96, 192, 384)), "two channel counts"),
        (lambda: CIFARDiscriminator(minibatch_kernels=-1), "minibatch_kernels"),
    ],
)
def test_bad_hyperparameters(factory, message):
    with pytest.raises(ValueError, match=message):
        factory()


def test_print_explains_the_models():
    text = repr(CIFARDiscriminator(minibatch_kernels=100))
    assert "widths=(96, 192)" in text and "input_noise=0.2" in text and "minibatch_kernels=100" in text
    assert "LeakyReLU(negative_slope=0.2)" in text and "MinibatchDiscrimination" in text
    text = repr(CIFARGenerator(norm="virtual", reference_size=10))
    assert "norm='virtual', reference_size=10" in text and "output_padding=(1, 1)" in text
