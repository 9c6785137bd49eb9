"""The ImageNet 128x128 models (Section 6.5) against numbers derived by hand from docs/reference.md.

The full-size networks are built on the meta device (no memory, no compute) for
their parameter counts and shapes; the numerical tests use narrow widths.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from improved_gan.layers import CrossBatchNorm, GaussianNoise, NoiseChannels
from improved_gan.models import DiscriminatorOutput
from improved_gan.models.imagenet import ImageNetDiscriminator, ImageNetGenerator
from improved_gan.techniques import JointMinibatchDiscrimination, VirtualBatchNorm


def _parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _tiny_generator(**kwargs) -> ImageNetGenerator:
    options = {"latent_dim": 32, "widths": (16, 8, 8, 4, 4), "noise_channels": 2, "reference_size": 4}
    return ImageNetGenerator(**{**options, **kwargs})


def _tiny_discriminator(**kwargs) -> ImageNetDiscriminator:
    options = {
        "num_classes": 5, "widths": (4, 8, 8, 8, 8), "hidden_units": 16,
        "minibatch_kernels": 3, "minibatch_kernel_dim": 2,
    }
    return ImageNetDiscriminator(**{**options, **kwargs})


def _output_shapes(call, x: torch.Tensor, kinds: tuple[type, ...], model: nn.Module) -> list[tuple[int, ...]]:
    """The output shape of every layer of ``model`` of the given kinds, in call order, for ``call(x)``."""
    shapes: list[tuple[int, ...]] = []
    hooks = [m.register_forward_hook(lambda m, i, o: shapes.append(tuple(o.shape))) for m in model.modules()
             if isinstance(m, kinds)]
    try:
        call(x)
    finally:
        for hook in hooks:
            hook.remove()
    return shapes


# ---- parameter counts and shapes, derived by hand -------------------------------------------


def test_authors_generator_parameter_count_by_hand():
    # z 8192 -> dense to 4*4*512 = 8,192 units, no bias:      8,192 * 8,192       = 67,108,864
    # VBN over 512 channels (gamma, beta):                    2 * 512             =      1,024
    # 16 noise channels after every hidden layer, so the deconvs read 512+16, 256+16, ...
    # deconv 5x5 528 -> 256, no bias:                         528 * 256 * 25      =  3,379,200  + VBN 512
    # deconv 272 -> 128:                                      272 * 128 * 25      =    870,400  + VBN 256
    # deconv 144 -> 64:                                       144 * 64 * 25       =    230,400  + VBN 128
    # deconv 80 -> 32:                                        80 * 32 * 25        =     64,000  + VBN 64
    # deconv 48 -> 3 with bias:                               48 * 3 * 25 + 3     =      3,603
    # total 67,108,864 + 1,024 + 3,379,200 + 512 + 870,400 + 256 + 230,400 + 128 + 64,000 + 64
    #       + 3,603 = 71,658,451
    generator = ImageNetGenerator(device="meta")
    assert _parameters(generator) == 71_658_451
    # the reference latents: a buffer, 16 x 8192, saved with the model and never trained
    assert generator.net.reference_input.shape == (16, 8192)
    assert generator.reference_size == 16


def test_authors_discriminator_parameter_count_by_hand():
    # conv 5x5 stride 2, 3 -> 64 with bias (no norm):          64 * 3 * 25 + 64     =      4,864
    # conv 64 -> 128, no bias, cross BN (gamma, beta):         128 * 64 * 25 + 256  =    205,056
    # conv 128 -> 256:                                         256 * 128 * 25 + 512 =    819,712
    # conv 256 -> 512:                                         512 * 256 * 25 + 1,024 = 3,277,824
    # conv 512 -> 1024:                                        1,024 * 512 * 25 + 2,048 = 13,109,248
    # dense 4*4*1024 = 16,384 -> 2,560 with bias:              16,384 * 2,560 + 2,560 = 41,945,600
    # minibatch projection 2,560 -> 300 * 50 = 15,000, bias:   2,560 * 15,000 + 15,000 = 38,415,000
    # logits: 2,560 + 2 * 300 = 3,160 -> 1,001 with bias:      3,160 * 1,001 + 1,001 = 3,164,161
    # total 4,864 + 205,056 + 819,712 + 3,277,824 + 13,109,248 + 41,945,600 + 38,415,000
    #       + 3,164,161 = 100,941,465
    assert _parameters(ImageNetDiscriminator(device="meta")) == 100_941_465


def test_dcgan_baseline_parameter_counts_by_hand():
    # G: dense 100 -> 8,192 no bias 819,200 + BN(512) 1,024; deconvs without noise channels:
    #    512*256*25 = 3,276,800 + 512; 256*128*25 = 819,200 + 256; 128*64*25 = 204,800 + 128;
    #    64*32*25 = 51,200 + 64; 32*3*25 + 3 = 2,403
    #    total 820,224 + 3,277,312 + 819,456 + 204,928 + 51,264 + 2,403 = 5,175,587
    assert _parameters(ImageNetGenerator.dcgan(device="meta")) == 5_175_587
    # D: the five convs as above (4,864 + 205,056 + 819,712 + 3,277,824 + 13,109,248 = 17,416,704),
    #    then one logit from the 16,384 flattened features: 16,384 + 1 = 16,385; total 17,433,089
    assert _parameters(ImageNetDiscriminator.dcgan(device="meta")) == 17_433_089


def test_authors_generator_shapes_layer_by_layer():
    generator = ImageNetGenerator(device="meta")
    kinds = (nn.Linear, nn.Unflatten, NoiseChannels, nn.ConvTranspose2d)
    # rows: 16 reference rows + 2 examples = 18 inside the network
    expected = [
        (18, 8192), (18, 512, 4, 4), (18, 528, 4, 4),
        (18, 256, 8, 8), (18, 272, 8, 8),
        (18, 128, 16, 16), (18, 144, 16, 16),
        (18, 64, 32, 32), (18, 80, 32, 32),
        (18, 32, 64, 64), (18, 48, 64, 64),
        (18, 3, 128, 128),
    ]
    assert _output_shapes(generator, generator.sample_latent(2), kinds, generator) == expected
    assert generator(generator.sample_latent(2)).shape == (2, 3, 128, 128)


def test_authors_discriminator_shapes_layer_by_layer():
    discriminator = ImageNetDiscriminator(device="meta")
    kinds = (nn.Conv2d, nn.Flatten, nn.Linear, JointMinibatchDiscrimination)
    expected = [
        (4, 64, 64, 64), (4, 128, 32, 32), (4, 256, 16, 16), (4, 512, 8, 8), (4, 1024, 4, 4),
        (4, 16_384), (4, 2_560),  # flatten, dense
        (4, 3_160),  # 2,560 features + 300 closeness to the real half + 300 to the generated half
        (4, 1_001),  # K + 1 logits
    ]
    x = torch.empty(4, 3, 128, 128, device="meta")
    assert _output_shapes(lambda t: discriminator(t, num_real=2), x, kinds, discriminator) == expected
    out = discriminator(x, num_real=2)
    assert isinstance(out, DiscriminatorOutput)
    assert out.logits.shape == (4, 1000) and out.features.shape == (4, 2560)
    assert discriminator.feature_dim == 2560 and discriminator.num_classes == 1000


def test_layer_kinds_follow_the_reference():
    generator, discriminator = ImageNetGenerator(device="meta"), ImageNetDiscriminator(device="meta")
    vbns = [m for m in generator.modules() if isinstance(m, VirtualBatchNorm)]
    assert [m.num_features for m in vbns] == [512, 256, 128, 64, 32]
    assert all(m.reference_size == 16 and m.eps == 1e-5 for m in vbns)
    assert [m.num_channels for m in generator.modules() if isinstance(m, NoiseChannels)] == [16] * 5
    noise = [m for m in discriminator.modules() if isinstance(m, GaussianNoise)]
    assert [m.std for m in noise] == [0.1]
    assert [m.num_features for m in discriminator.modules() if isinstance(m, CrossBatchNorm)] == [128, 256, 512, 1024]
    assert discriminator.cross_sample and discriminator.joint_batch
    baseline = ImageNetDiscriminator.dcgan(device="meta")
    assert baseline.cross_sample and not baseline.joint_batch
    assert not any(isinstance(m, (CrossBatchNorm, GaussianNoise, JointMinibatchDiscrimination))
                   for m in baseline.modules())
    assert not any(isinstance(m, (VirtualBatchNorm, NoiseChannels)) for m in ImageNetGenerator.dcgan().modules())


# ---- behaviour ----------------------------------------------------------------------------


def test_latent_prior_is_uniform_minus_one_to_one():
    generator = _tiny_generator()
    z = generator.sample_latent(4000)
    assert z.shape == (4000, 32)
    assert z.min() >= -1 and z.max() <= 1
    assert abs(z.mean().item()) < 0.02 and z.min() < -0.99 and z.max() > 0.99
    assert generator.net.reference_input.min() < 0  # the reference latents come from the same prior
    assert ImageNetGenerator.dcgan(device="meta").latent_dim == 100


def test_virtual_batch_norm_uses_the_fixed_reference_batch():
    # the first VBN normalises the dense layer's output; its first 4 rows come from z_ref
    generator = _tiny_generator(dtype=torch.float64)
    dense, vbn = generator.net.module[0], generator.net.module[2]
    seen = {}
    vbn.register_forward_hook(lambda m, i, o: seen.update(x=i[0].detach(), y=o.detach()))
    z = generator.sample_latent(3)
    generator(z)
    x, y = seen["x"], seen["y"]
    assert x.shape == (4 + 3, 16, 4, 4)
    torch.testing.assert_close(x[:4], dense(generator.net.reference_input).view(4, 16, 4, 4))
    torch.testing.assert_close(x[4:], dense(z).view(3, 16, 4, 4))
    # by hand: per channel, reference moments over (rows, H, W); each example mixes its own moments
    # 1/(R+1) with the reference's R/(R+1); std = sqrt(1e-5 + E[x^2] - E[x]^2)
    gamma, beta = vbn.weight.detach(), vbn.bias.detach()
    for c in range(16):
        ref = x[:4, c]
        ref_mean, ref_sq = ref.mean(), (ref**2).mean()
        expected_ref = (ref - ref_mean) / math.sqrt(1e-5 + ref_sq - ref_mean**2) * gamma[c] + beta[c]
        torch.testing.assert_close(y[:4, c], expected_ref)
        for i in range(4, 7):
            mean = x[i, c].mean() / 5 + ref_mean * 4 / 5
            mean_sq = (x[i, c] ** 2).mean() / 5 + ref_sq * 4 / 5
            expected = (x[i, c] - mean) / torch.sqrt(1e-5 + mean_sq - mean**2) * gamma[c] + beta[c]
            torch.testing.assert_close(y[i, c], expected)


def test_generated_image_depends_on_its_own_latent_only():
    generator = _tiny_generator(noise_channels=0, dtype=torch.float64)
    z = generator.sample_latent(5)
    torch.testing.assert_close(generator(z)[:2], generator(z[:2]))
    # the noise channels are fresh draws, in eval mode too
    noisy = _tiny_generator().eval()
    z = noisy.sample_latent(2)
    assert not torch.equal(noisy(z), noisy(z))


def test_logits_are_relative_to_the_generated_logit():
    discriminator = _tiny_discriminator(dtype=torch.float64).eval()
    raw = {}
    discriminator.head[-2].register_forward_hook(lambda m, i, o: raw.update(l=o.detach()))
    out = discriminator(torch.rand(4, 3, 128, 128, dtype=torch.float64) * 2 - 1, num_real=2)
    l = raw["l"]
    assert l.shape == (4, 6)
    # GAN logit = LSE(first K) - last; the class probabilities over the first K are unchanged
    torch.testing.assert_close(out.logits.logsumexp(1), l[:, :5].logsumexp(1) - l[:, 5])
    torch.testing.assert_close(out.logits.softmax(1), l[:, :5].softmax(1))


def test_generated_half_output_depends_on_the_real_half():
    discriminator = _tiny_discriminator(input_noise=0.0, dtype=torch.float64)
    real, generated = torch.rand(2, 2, 3, 128, 128, dtype=torch.float64)
    first = discriminator(torch.cat([real, generated]), num_real=2).logits[2:]
    second = discriminator(torch.cat([real * 0.5, generated]), num_real=2).logits[2:]
    assert not torch.allclose(first, second)


@pytest.mark.parametrize(("rows", "num_real"), [(4, None), (1, 0), (2, 1), (3, 1), (6, 2), (16, 8)])
def test_joint_batch_contract_is_enforced(rows, num_real):
    discriminator = _tiny_discriminator()
    pattern = r"D\(torch.cat\(\[real, generated\]\), num_real=len\(real\)\).*real first"
    if rows == 16:
        discriminator(torch.rand(rows, 3, 128, 128), num_real=8)  # the right call
        # the mistake num_real guards against: 16 real rows alone, which would pass for a joint batch
        with pytest.raises(ValueError, match=pattern):
            discriminator(torch.rand(rows, 3, 128, 128))
        return
    with pytest.raises(ValueError, match=pattern):
        discriminator(torch.rand(rows, 3, 128, 128), num_real=num_real)


def test_baseline_is_called_on_each_batch_alone():
    baseline = ImageNetDiscriminator.dcgan(widths=(4, 4, 4, 4, 4))
    assert baseline(torch.rand(3, 3, 128, 128)).logits.shape == (3, 1)
    with pytest.raises(ValueError, match="call it on the real and the generated batch separately"):
        baseline(torch.rand(4, 3, 128, 128), num_real=2)


def test_bad_options_are_one_clear_error():
    with pytest.raises(ValueError, match="widths must be 5 positive channel counts"):
        ImageNetGenerator(widths=(512, 256), device="meta")
    with pytest.raises(ValueError, match="norm must be 'virtual' or 'batch'"):
        ImageNetGenerator(norm="cross", device="meta")
    with pytest.raises(ValueError, match="norm must be 'cross' or 'batch'"):
        ImageNetDiscriminator(norm="virtual", device="meta")
    with pytest.raises(ValueError, match="generated_logit must be"):
        ImageNetDiscriminator(generated_logit="fixed", device="meta")
    with pytest.raises(ValueError, match=r"expects images of shape \[N, 3, 128, 128\]"):
        _tiny_discriminator()(torch.rand(4, 3, 64, 64), num_real=2)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_float64_and_float32_forward(dtype):
    generator, discriminator = _tiny_generator(dtype=dtype), _tiny_discriminator(dtype=dtype)
    z = generator.sample_latent(2)
    assert z.dtype == dtype
    out = discriminator(torch.cat([torch.rand(2, 3, 128, 128, dtype=dtype), generator(z)]), num_real=2)
    assert out.logits.dtype == dtype and out.features.dtype == dtype
    assert all(p.dtype == dtype for p in [*generator.parameters(), *discriminator.parameters()])
    assert generator.net.reference_input.dtype == dtype


@pytest.mark.parametrize("preset", ["imagenet128", "imagenet128-dcgan"])
def test_tiny_forward_backward_at_128_with_batch_4(preset):
    if preset == "imagenet128":
        generator, discriminator = _tiny_generator(), _tiny_discriminator()
    else:
        generator = ImageNetGenerator.dcgan(latent_dim=32, widths=(16, 8, 8, 4, 4))
        discriminator = ImageNetDiscriminator.dcgan(widths=(4, 8, 8, 8, 8))
    real = torch.rand(2, 3, 128, 128) * 2 - 1
    fake = generator(generator.sample_latent(2))
    assert fake.shape == (2, 3, 128, 128) and fake.abs().max() < 1
    if discriminator.joint_batch:
        out = discriminator(torch.cat([real, fake]), num_real=2)
    else:  # DCGAN: each batch alone
        out = DiscriminatorOutput(*(torch.cat(parts) for parts in zip(discriminator(real), discriminator(fake))))
    assert out.logits.shape[0] == 4 and torch.isfinite(out.logits).all()
    gan_logit = out.logits.logsumexp(1)
    loss = nn.functional.binary_cross_entropy_with_logits(gan_logit, torch.tensor([0.75, 0.75, 0.0, 0.0]))
    loss.backward()
    for model in (generator, discriminator):
        for name, p in model.named_parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert any(p.grad.abs().sum() > 0 for p in generator.parameters())


def test_reset_parameters_keeps_the_reference_latents():
    generator = _tiny_generator()
    z_ref = generator.net.reference_input.clone()
    weight = generator.net.module[0].weight.detach().clone()
    generator.reset_parameters()
    assert torch.equal(generator.net.reference_input, z_ref)
    assert not torch.equal(generator.net.module[0].weight, weight)
    assert "reference_size=4" in repr(generator) and "joint_batch=True" in repr(_tiny_discriminator())
