"""The ImageNet 128x128 models (Section 6.5) against the authors' layer list, worked out by hand.

The authors' code (imagenet/generator.py, discriminator.py, ops.py; gf_dim = df_dim = 64) is the
source of every number below; the arithmetic is written here, independently of the model code. The
full-size networks are built on the meta device (no memory, no compute) for their parameter counts and
shapes; the numerical tests use narrow widths.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from improved_gan.errors import ConfigError
from improved_gan.experiments.presets import get_preset
from improved_gan.layers import CrossBatchNorm, GaussianNoise, NoiseChannels
from improved_gan.models import DiscriminatorOutput
from improved_gan.models.imagenet import ImageNetDiscriminator, ImageNetGenerator, class_loss_over_all_logits
from improved_gan.models.imagenet_dcgan import DCGANDiscriminator128, DCGANGenerator128
from improved_gan.techniques import JointMinibatchDiscrimination, VirtualBatchNorm
from improved_gan.training.build import build_models
from improved_gan.training.steps.imagenet import _check_towers


def _parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _tiny_generator(**kwargs) -> ImageNetGenerator:
    options = {"latent_dim": 32, "gf_dim": 2, "noise_channels": 2, "reference_size": 4}
    return ImageNetGenerator(**{**options, **kwargs})


def _tiny_discriminator(**kwargs) -> ImageNetDiscriminator:
    options = {"num_classes": 5, "df_dim": 1, "hidden_units": 16, "minibatch_kernels": 3, "minibatch_kernel_dim": 2,
               "tower_size": 2}
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


# ---- parameter counts and shapes, derived by hand from the authors' layer list ----------------


def test_authors_generator_parameter_count_by_hand():
    # generator.py, gf_dim = 64; every linear/deconv has a bias; VBN has gamma and beta per channel;
    # the noise channels (64, 64, 32, 16, 8, 8) are concatenated to each hidden layer's output.
    dense = 8192 * (4 * 4 * 512) + 4 * 4 * 512  # g_h0_lin: z 8192 -> 4x4x512      67,117,056
    vbn = 2 * (512 + 256 + 128 + 64 + 64 + 64)  # g_vbn_0 .. g_vbn_5                    2,176
    deconvs = (
        (512 + 64) * 256 * 25 + 256  # g_h1, 5x5:  576 -> 256                            3,686,656
        + (256 + 64) * 128 * 25 + 128  # g_h2:     320 -> 128                            1,024,128
        + (128 + 32) * 64 * 25 + 64  # g_h3:       160 -> 64                               256,064
        + (64 + 16) * 64 * 25 + 64  # g_h4:         80 -> 64                               128,064
        + (64 + 8) * 64 * 25 + 64  # g_h5:          72 -> 64                               115,264
        + (64 + 8) * 3 * 25 + 3  # g_h6, stride 1:  72 -> 3                                  5,403
    )
    assert dense + vbn + deconvs == 72_334_811
    generator = ImageNetGenerator(device="meta")
    assert _parameters(generator) == 72_334_811
    # the reference batch, fixed: its z (16 x 8192) and its noise channels, buffers never trained
    assert generator.net.reference_input.shape == (16, 8192)
    noise = [tuple(m.reference_noise.shape) for m in generator.modules() if isinstance(m, NoiseChannels)]
    assert noise == [(16, 64, 4, 4), (16, 64, 8, 8), (16, 32, 16, 16), (16, 16, 32, 32), (16, 8, 64, 64),
                     (16, 8, 128, 128)]


def test_authors_discriminator_parameter_count_by_hand():
    # discriminator.py, df_dim = 64: seven 3x3 convs with biases, each followed by cross BN (ops.py's
    # batch_norm_cross: gamma0, beta0, gamma1, beta1 of C/2 each, i.e. 2C), then the dense layer and its BN.
    channels = [3, 64, 128, 256, 256, 256, 512, 512]
    convs = sum(3 * 3 * c_in * c_out + c_out for c_in, c_out in zip(channels, channels[1:]))
    assert convs == 1_792 + 73_856 + 295_168 + 590_080 + 590_080 + 1_180_160 + 2_359_808 == 5_090_944
    norms = sum(2 * c for c in channels[1:]) + 2 * 2560  # 3,968 + 5,120
    dense = (4 * 4 * 512) * 2560 + 2560  # d_h7: flatten 8,192 -> 40 * 64 = 2,560       20,974,080
    minibatch = 2560 * (300 * 50) + 300 * 50  # d_h: 2,560 -> 300 x 50                   38,415,000
    logits = (2560 + 2 * 300) * 1001 + 1001  # d_indiv_logits: 3,160 -> 1,001             3,164,161
    assert convs + norms + dense + minibatch + logits == 67_653_273  # "about 67.65 million"
    assert _parameters(ImageNetDiscriminator(device="meta")) == 67_653_273


def test_dcgan_baseline_parameter_counts_by_hand():
    # ours (DCGAN's settings): G: dense 100 -> 8,192 no bias 819,200 + BN(512) 1,024; deconvs 5x5 stride 2:
    #    512*256*25 = 3,276,800 + 512; 256*128*25 = 819,200 + 256; 128*64*25 = 204,800 + 128;
    #    64*32*25 = 51,200 + 64; 32*3*25 + 3 = 2,403
    #    total 820,224 + 3,277,312 + 819,456 + 204,928 + 51,264 + 2,403 = 5,175,587
    assert _parameters(DCGANGenerator128(device="meta")) == 5_175_587
    # D: conv 3 -> 64 with bias 4,864; then no bias + BN: 205,056 + 819,712 + 3,277,824 + 13,109,248;
    #    one logit from the 16,384 flattened features: 16,385; total 17,433,089
    assert _parameters(DCGANDiscriminator128(device="meta")) == 17_433_089


def test_authors_generator_shapes_layer_by_layer():
    generator = ImageNetGenerator(device="meta")
    kinds = (nn.Linear, nn.Unflatten, NoiseChannels, nn.ConvTranspose2d)
    # rows: 16 reference rows + 2 examples = 18 inside the network
    expected = [
        (18, 8192), (18, 512, 4, 4), (18, 576, 4, 4),
        (18, 256, 8, 8), (18, 320, 8, 8),
        (18, 128, 16, 16), (18, 160, 16, 16),
        (18, 64, 32, 32), (18, 80, 32, 32),
        (18, 64, 64, 64), (18, 72, 64, 64),
        (18, 64, 128, 128), (18, 72, 128, 128),
        (18, 3, 128, 128),  # the stride-1 output layer
    ]
    assert _output_shapes(generator, generator.sample_latent(2), kinds, generator) == expected
    assert generator(generator.sample_latent(2)).shape == (2, 3, 128, 128)


def test_authors_discriminator_shapes_layer_by_layer():
    discriminator = ImageNetDiscriminator(device="meta")
    kinds = (nn.Conv2d, nn.Flatten, nn.Linear, JointMinibatchDiscrimination)
    expected = [
        (32, 64, 64, 64), (32, 128, 32, 32), (32, 256, 16, 16), (32, 256, 16, 16), (32, 256, 16, 16),
        (32, 512, 8, 8), (32, 512, 4, 4),
        (32, 8_192), (32, 2_560),  # flatten, dense
        (32, 3_160),  # 2,560 features + 300 closeness sums to the real half + 300 to the generated half
        (32, 1_001),  # K + 1 logits
    ]
    x = torch.empty(32, 3, 128, 128, device="meta")  # one tower: 16 real + 16 generated
    assert _output_shapes(lambda t: discriminator(t, num_real=16), x, kinds, discriminator) == expected
    out = discriminator(x, num_real=16)
    assert isinstance(out, DiscriminatorOutput)
    assert out.logits.shape == (32, 1000) and out.features.shape == (32, 2560)


def test_layer_kinds_follow_the_authors_code():
    generator, discriminator = ImageNetGenerator(device="meta"), ImageNetDiscriminator(device="meta")
    vbns = [m for m in generator.modules() if isinstance(m, VirtualBatchNorm)]
    assert [m.num_features for m in vbns] == [512, 256, 128, 64, 64, 64]
    assert all(m.reference_size == 16 and m.eps == 1e-5 for m in vbns)
    assert [m.num_channels for m in generator.modules() if isinstance(m, NoiseChannels)] == [64, 64, 32, 16, 8, 8]
    deconvs = [m for m in generator.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [(m.kernel_size, m.stride) for m in deconvs] == [((5, 5), (2, 2))] * 5 + [((5, 5), (1, 1))]
    assert all(m.bias is not None for m in generator.modules() if isinstance(m, nn.Linear | nn.ConvTranspose2d))
    convs = [m for m in discriminator.modules() if isinstance(m, nn.Conv2d)]
    assert [(m.kernel_size, m.stride[0], m.out_channels) for m in convs] == [
        ((3, 3), s, c) for s, c in zip((2, 2, 2, 1, 1, 2, 2), (64, 128, 256, 256, 256, 512, 512))
    ]
    assert all(m.bias is not None for m in convs)
    norms = [m for m in discriminator.modules() if isinstance(m, CrossBatchNorm)]
    assert [m.num_features for m in norms] == [64, 128, 256, 256, 256, 512, 512, 2560]  # the first and the dense
    assert all(m.tower_size == 16 and m.eps == 1e-5 for m in norms)
    assert [m.std for m in discriminator.modules() if isinstance(m, GaussianNoise)] == [0.1]
    assert discriminator.cross_sample and discriminator.joint_batch
    baseline = DCGANDiscriminator128(device="meta")
    assert baseline.cross_sample and not baseline.joint_batch
    assert not any(isinstance(m, (CrossBatchNorm, GaussianNoise, JointMinibatchDiscrimination))
                   for m in baseline.modules())
    assert not any(isinstance(m, (VirtualBatchNorm, NoiseChannels)) for m in DCGANGenerator128().modules())


def test_the_preset_builds_the_authors_networks_and_towers_of_16():
    config = get_preset("imagenet128").validate()
    generator, discriminator = build_models(config, image_shape=(3, 128, 128), num_classes=1000,
                                            device=torch.device("meta"))
    assert (_parameters(generator), _parameters(discriminator)) == (72_334_811, 67_653_273)
    assert discriminator.tower_size == 16 and generator.reference_size == 16 and config.batch_size == 64
    baseline = get_preset("imagenet128-dcgan").validate()
    generator, discriminator = build_models(baseline, image_shape=(3, 128, 128), num_classes=1,
                                            device=torch.device("meta"))
    assert (_parameters(generator), _parameters(discriminator)) == (5_175_587, 17_433_089)


# ---- initialisation -----------------------------------------------------------------------


def test_initial_weights_are_the_authors():
    torch.manual_seed(0)
    generator = ImageNetGenerator(latent_dim=256, gf_dim=8)
    deconvs = [m for m in generator.modules() if isinstance(m, nn.ConvTranspose2d)]
    output = deconvs[-1]
    assert torch.all(output.bias == -0.45)  # out_init_b
    assert abs(output.weight.std().item() - 0.075) < 0.005  # out_stddev
    for layer in [generator.net.module[0], *deconvs[:-1]]:
        assert torch.all(layer.bias == 0) and abs(layer.weight.std().item() - 0.02) < 0.002
    vbn = [m for m in generator.modules() if isinstance(m, VirtualBatchNorm)][0]
    assert torch.all(vbn.bias == 0) and abs(vbn.weight.mean().item() - 1) < 0.01
    discriminator = ImageNetDiscriminator(df_dim=8, minibatch_kernels=30, num_classes=10)
    convs = [m for m in discriminator.modules() if isinstance(m, nn.Conv2d)]
    big = convs[-1].weight  # 64 x 64 x 3 x 3
    # TensorFlow's truncated_normal(stddev=0.02): redrawn beyond 2 std, so |w| <= 0.04 and the std is
    # 0.02 times sqrt(1 - 2 * 2 phi(2) / (2 Phi(2) - 1)) = 0.02 * 0.8796
    phi, Phi = math.exp(-2) / math.sqrt(2 * math.pi), 0.5 * (1 + math.erf(2 / math.sqrt(2)))
    truncated_std = 0.02 * math.sqrt(1 - 4 * phi / (2 * Phi - 1))
    assert big.abs().max() <= 0.04 and abs(big.std().item() - truncated_std) < 0.001
    assert all(torch.all(m.bias == 0) for m in convs)
    for layer in [m for m in discriminator.modules() if isinstance(m, nn.Linear | JointMinibatchDiscrimination)]:
        assert torch.all(layer.bias == 0) and abs(layer.weight.std().item() - 0.02) < 0.002


# ---- the class loss -----------------------------------------------------------------------


def test_class_loss_is_the_cross_entropy_over_all_k_plus_1_logits():
    # two rows of K + 1 = 3 raw logits (the last: "generated"), labels 0 and 1, worked out by hand:
    # row 1: -1 + log(e^1 + e^2 + e^0.5); row 2: -(-1) + log(e^0 + e^-1 + e^2)
    raw = torch.tensor([[1.0, 2.0, 0.5], [0.0, -1.0, 2.0]], dtype=torch.float64)
    labels = torch.tensor([0, 1])
    by_hand = ((-1 + math.log(math.e + math.e**2 + math.e**0.5)) + (1 + math.log(1 + math.e**-1 + math.e**2))) / 2
    relative = raw[:, :2] - raw[:, 2:]  # what the discriminator returns
    torch.testing.assert_close(class_loss_over_all_logits(relative, labels), torch.tensor(by_hand, dtype=torch.float64))
    # not the cross-entropy over the K class logits: that one is smaller by mean softplus(-LSE)
    over_k = nn.functional.cross_entropy(relative, labels)
    gap = nn.functional.softplus(-relative.logsumexp(1)).mean()
    torch.testing.assert_close(class_loss_over_all_logits(relative, labels) - over_k, gap)
    assert gap > 0.1


# ---- the reference batch ------------------------------------------------------------------


def test_the_reference_batch_noise_is_fixed_and_the_rest_fresh():
    generator = _tiny_generator(dtype=torch.float64).eval()
    seen: list[torch.Tensor] = []
    first_noise = [m for m in generator.modules() if isinstance(m, NoiseChannels)][0]
    first_noise.register_forward_hook(lambda m, i, o: seen.append(o.detach().clone()))
    z = generator.sample_latent(3)
    generator(z)
    generator(z)
    width = 16  # 8 * gf_dim channels, then the noise channels
    assert torch.equal(seen[0][:4], seen[1][:4])  # the 4 reference rows: the same noise every call
    assert torch.equal(seen[0][:4, width:], first_noise.reference_noise)
    assert not torch.equal(seen[0][4:, width:], seen[1][4:, width:])  # the examples': fresh
    state = generator.state_dict()
    assert any(key.endswith("reference_noise") for key in state) and "net.reference_input" in state


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


def test_latent_prior_is_uniform_minus_one_to_one():
    generator = _tiny_generator()
    z = generator.sample_latent(4000)
    assert z.shape == (4000, 32)
    assert z.min() >= -1 and z.max() <= 1
    assert abs(z.mean().item()) < 0.02 and z.min() < -0.99 and z.max() > 0.99
    assert generator.net.reference_input.min() < 0  # the reference latents come from the same prior
    baseline = DCGANGenerator128(latent_dim=100, widths=(4, 4, 4, 4, 4))
    assert baseline.latent_dim == 100 and baseline.sample_latent(500).min() < -0.9


def test_generated_image_depends_on_its_own_latent_only():
    generator = _tiny_generator(noise_channels=0, dtype=torch.float64)
    z = generator.sample_latent(5)
    torch.testing.assert_close(generator(z)[:2], generator(z[:2]))
    # the examples' noise channels are fresh draws, in eval mode too
    noisy = _tiny_generator().eval()
    z = noisy.sample_latent(2)
    assert not torch.equal(noisy(z), noisy(z))


# ---- the discriminator: logits, the joint batch, towers -----------------------------------


def test_logits_are_relative_to_the_generated_logit():
    discriminator = _tiny_discriminator(dtype=torch.float64).eval()
    raw = {}
    discriminator.head[-2].register_forward_hook(lambda m, i, o: raw.update(l=o.detach()))
    out = discriminator(torch.rand(4, 3, 128, 128, dtype=torch.float64) * 2 - 1, num_real=2)
    l = raw["l"]
    assert l.shape == (4, 6)
    # GAN logit = LSE(first K) - last (discriminator.py's gan_logits)
    torch.testing.assert_close(out.logits.logsumexp(1), l[:, :5].logsumexp(1) - l[:, 5])


def test_one_process_groups_the_batch_as_the_towers_did():
    """8 + 8 rows with towers of 2: the same logits as four towers, each called on its own 2 + 2 rows."""
    torch.manual_seed(0)
    discriminator = _tiny_discriminator(input_noise=0.0, dtype=torch.float64)
    real, generated = torch.rand(2, 8, 3, 128, 128, dtype=torch.float64) * 2 - 1
    together = discriminator(torch.cat([real, generated]), num_real=8)
    for t in range(4):
        rows = slice(2 * t, 2 * t + 2)
        tower = discriminator(torch.cat([real[rows], generated[rows]]), num_real=2)
        torch.testing.assert_close(together.logits[rows], tower.logits[:2], rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(together.logits[8:][rows], tower.logits[2:], rtol=1e-10, atol=1e-12)
    # one tower of the whole batch computes something else
    whole = _tiny_discriminator(input_noise=0.0, dtype=torch.float64, tower_size=None)
    whole.load_state_dict(discriminator.state_dict())
    assert not torch.allclose(whole(torch.cat([real, generated]), num_real=8).logits, together.logits)


def test_generated_half_output_depends_on_the_real_half():
    discriminator = _tiny_discriminator(input_noise=0.0, dtype=torch.float64)
    real, generated = torch.rand(2, 2, 3, 128, 128, dtype=torch.float64)
    first = discriminator(torch.cat([real, generated]), num_real=2).logits[2:]
    second = discriminator(torch.cat([real * 0.5, generated]), num_real=2).logits[2:]
    assert not torch.allclose(first, second)


@pytest.mark.parametrize(("rows", "num_real"), [(4, None), (1, 0), (2, 1), (3, 1), (6, 3), (8, 2), (16, 8)])
def test_joint_batch_contract_is_enforced(rows, num_real):
    discriminator = _tiny_discriminator()
    pattern = r"D\(torch.cat\(\[real, generated\]\), num_real=len\(real\)\).*multiple of tower_size=2, real first"
    if rows == 16:
        discriminator(torch.rand(rows, 3, 128, 128), num_real=8)  # the right call
        # the mistake num_real guards against: 16 real rows alone, which would pass for a joint batch
        with pytest.raises(ValueError, match=pattern):
            discriminator(torch.rand(rows, 3, 128, 128))
        return
    with pytest.raises(ValueError, match=pattern):
        discriminator(torch.rand(rows, 3, 128, 128), num_real=num_real)


def test_a_batch_that_is_not_whole_towers_is_refused_in_one_line():
    with pytest.raises(ConfigError, match="does not split into towers of imagenet_tower=16"):
        get_preset("imagenet128").__class__(**{**get_preset("imagenet128").to_dict(), "batch_size": 40}).validate()
    _check_towers(64, 16, 4)  # the authors' 4 x 16
    _check_towers(64, 16, 1)  # one process: four towers
    with pytest.raises(ConfigError, match="8 real rows per process over 8 processes, not a multiple"):
        _check_towers(64, 16, 8)


def test_bad_options_are_one_clear_error():
    with pytest.raises(ValueError, match="gf_dim must be a positive integer"):
        ImageNetGenerator(gf_dim=0, device="meta")
    with pytest.raises(ValueError, match="norm must be 'virtual' or 'batch'"):
        ImageNetGenerator(norm="cross", device="meta")
    with pytest.raises(ValueError, match="tower_size must be a positive integer"):
        ImageNetDiscriminator(tower_size=0, device="meta")
    with pytest.raises(ValueError, match="widths must be 5 positive channel counts"):
        DCGANGenerator128(widths=(512, 256), device="meta")
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
    assert all(b.dtype == dtype for b in generator.buffers())


@pytest.mark.parametrize("preset", ["imagenet128", "imagenet128-dcgan"])
def test_tiny_forward_backward_at_128_with_batch_4(preset):
    if preset == "imagenet128":
        generator, discriminator = _tiny_generator(), _tiny_discriminator()
    else:
        generator = DCGANGenerator128(latent_dim=32, widths=(16, 8, 8, 4, 4))
        discriminator = DCGANDiscriminator128(widths=(4, 8, 8, 8, 8))
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


def test_reset_parameters_keeps_the_reference_batch():
    generator = _tiny_generator()
    buffers = {k: v.clone() for k, v in generator.named_buffers()}
    weight = generator.net.module[0].weight.detach().clone()
    generator.reset_parameters()
    assert all(torch.equal(v, dict(generator.named_buffers())[k]) for k, v in buffers.items())
    assert not torch.equal(generator.net.module[0].weight, weight)
    assert "reference_size=4" in repr(generator) and "tower_size=2" in repr(_tiny_discriminator())
