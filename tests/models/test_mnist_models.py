"""The MNIST models against the numbers derived by hand from docs/reference.md."""

from __future__ import annotations

import math

import pytest
import torch

from improved_gan.layers import WeightNormLinear, init_weight_norm
from improved_gan.models import DiscriminatorOutput
from improved_gan.models.mnist import MNISTDiscriminator, MNISTGenerator


def _trainable(model) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# ---- the shapes and parameter counts of the reference ----------------------------------------


def test_discriminator_parameter_count_by_hand():
    # Weight-normalised dense layers: v (in*out) + b (out) trainable; g (out) frozen except the last.
    #   784 -> 1000:  784*1000 + 1000 = 785,000
    #  1000 ->  500: 1000*500  +  500 = 500,500
    #   500 ->  250:  500*250  +  250 = 125,250
    #   250 ->  250:  250*250  +  250 =  62,750  (twice: 125,500)
    #   250 ->   10:  250*10 + 10 + 10 (trainable g) = 2,520
    # total 785,000 + 500,500 + 125,250 + 125,500 + 2,520 = 1,538,770
    # frozen scales: 1000 + 500 + 250 + 250 + 250 = 2,250
    discriminator = MNISTDiscriminator()
    assert _trainable(discriminator) == 1_538_770
    assert sum(b.numel() for b in discriminator.buffers()) == 2_250
    layers = [m for m in discriminator.modules() if isinstance(m, WeightNormLinear)]
    assert [tuple(m.weight_v.shape) for m in layers] == [
        (1000, 784), (500, 1000), (250, 500), (250, 250), (250, 250), (10, 250)
    ]
    assert [m.trainable_scale for m in layers] == [False] * 5 + [True]
    assert [m.weight_g.requires_grad for m in layers] == [False] * 5 + [True]


def test_generator_parameter_count_by_hand():
    # 100 -> 500 dense without bias (batch norm's bias replaces it): 100*500 + 500 (BN bias) = 50,500
    # 500 -> 500 likewise:                                           500*500 + 500            = 250,500
    # 500 -> 784 weight-normalised, trainable g:                     500*784 + 784 (b) + 784 (g) = 393,568
    # total 694,568, nothing frozen
    generator = MNISTGenerator()
    assert _trainable(generator) == 694_568
    assert sum(p.numel() for p in generator.parameters()) == 694_568
    assert not list(generator.buffers())  # batch statistics only: no running averages
    assert generator.net[-3].weight_g.requires_grad


def test_discriminator_noise_layout():
    stds = [m.std for m in MNISTDiscriminator().modules() if type(m).__name__ == "GaussianNoise"]
    assert stds == [0.3, 0.5, 0.5, 0.5, 0.5, 0.5]  # on the input, then after each of the 5 hidden layers


# ---- forward behaviour -----------------------------------------------------------------------


def test_generator_output_shape_range_and_attributes():
    generator = MNISTGenerator()
    assert generator.latent_dim == 100 and generator.image_shape == (1, 28, 28)
    assert generator.output_range == (0.0, 1.0)
    z = generator.sample_latent(100)
    assert z.shape == (100, 100) and 0 <= z.min() and z.max() < 1  # U(0, 1)
    images = generator(z)
    assert images.shape == (100, 1, 28, 28)
    assert 0 < images.min() and images.max() < 1
    assert generator(z * 50).isfinite().all()


def test_generator_uses_batch_statistics_in_eval_mode_too():
    generator = MNISTGenerator()
    z = generator.sample_latent(100)
    torch.testing.assert_close(generator.eval()(z), generator.train()(z))  # one path, same rows: exact


def test_generator_init_leaves_it_untouched():
    generator = MNISTGenerator()
    before = {k: v.clone() for k, v in generator.state_dict().items()}
    assert init_weight_norm(generator, generator.sample_latent(100)) == []
    assert all(torch.equal(before[k], v) for k, v in generator.state_dict().items())


def test_discriminator_output_shapes_and_flat_input():
    discriminator = MNISTDiscriminator().eval()
    x = torch.rand(300, 1, 28, 28)
    out = discriminator(x)
    assert isinstance(out, DiscriminatorOutput)
    assert out.logits.shape == (300, 10) and out.features.shape == (300, 250)
    assert discriminator.feature_dim == 250 and discriminator.num_classes == 10
    torch.testing.assert_close(discriminator(x.reshape(300, 784)).logits, out.logits)  # the same products: exact


def test_features_are_the_last_hidden_relu_before_its_noise():
    discriminator = MNISTDiscriminator()
    recorded = {}
    discriminator.trunk[-1].register_forward_hook(lambda m, i, o: recorded.setdefault("relu", o))
    out = discriminator(torch.rand(8, 784))  # training mode: noise everywhere except on the features
    assert torch.equal(out.features, recorded["relu"])
    assert (out.features >= 0).all()


def test_eval_is_deterministic_and_training_is_noisy():
    discriminator = MNISTDiscriminator()
    x = torch.rand(20, 784)
    assert not torch.equal(discriminator(x).logits, discriminator(x).logits)
    discriminator.eval()
    assert torch.equal(discriminator(x).logits, discriminator(x).logits)


def test_concatenated_batch_equals_separate_batches():
    discriminator = MNISTDiscriminator().eval()
    labeled, unlabeled, generated = torch.rand(3, 7, 784).unbind()
    together = discriminator(torch.cat([labeled, unlabeled, generated]))
    # 21 rows and 7 take other product kernels: float32 products of K <= 1000 terms through 6 layers round by
    # ~6 sqrt(K) eps (1.1e-5) of the outputs' size at worst, here 10x that (measured: 1.7e-7 of logits ~0.3
    # from float64); a row that saw the rest of its batch would move by O(0.1)
    tolerance = 10 * 6 * math.sqrt(1000) * torch.finfo(torch.float32).eps
    for part, alone in zip(together.split([7, 7, 7]), (labeled, unlabeled, generated)):
        separate = discriminator(alone)
        for got, expected in ((part.logits, separate.logits), (part.features, separate.features)):
            torch.testing.assert_close(got, expected, rtol=0, atol=tolerance * expected.abs().max().item())
    with pytest.raises(ValueError, match="do not split"):
        together.split([7, 7])


def test_data_dependent_init_normalises_every_layer_on_500_examples():
    discriminator = MNISTDiscriminator().eval()
    x = torch.rand(500, 1, 28, 28)
    names = init_weight_norm(discriminator, x)
    assert names == ["trunk.2", "trunk.5", "trunk.8", "trunk.11", "trunk.14", "head.1"]
    outputs = []
    for module in discriminator.modules():
        if isinstance(module, WeightNormLinear):
            module.register_forward_hook(lambda m, i, o: outputs.append(o))
    discriminator(x)
    # the init's float32 means and stds of 500 rows, re-measured on the same rows: measured 5e-7 and 2e-7
    # (AVX2 and ATEN_CPU_CAPABILITY=default), ~sqrt(500) eps of O(1) values; an uninitialised layer is O(0.1) off
    for output in outputs:
        assert output.mean(0).abs().max() < 1e-4
        assert (output.std(0, correction=0) - 1).abs().max() < 1e-3


def test_backward_reaches_trainable_parameters_only():
    discriminator = MNISTDiscriminator()
    init_weight_norm(discriminator, torch.rand(100, 784))
    discriminator(torch.rand(10, 784)).logits.logsumexp(1).mean().backward()
    for name, parameter in discriminator.named_parameters():
        assert parameter.grad is not None, name
    for name, buffer in discriminator.named_buffers():
        assert buffer.grad is None and not buffer.requires_grad, name


def test_float64_end_to_end():
    generator = MNISTGenerator(dtype=torch.float64)
    discriminator = MNISTDiscriminator(dtype=torch.float64)
    init_weight_norm(discriminator, torch.rand(100, 784, dtype=torch.float64))
    images = generator(generator.sample_latent(100))
    assert images.dtype == torch.float64
    out = discriminator(images)
    assert out.logits.dtype == out.features.dtype == torch.float64


def test_gan_pipeline_under_bfloat16_autocast():
    generator, discriminator = MNISTGenerator(), MNISTDiscriminator()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = discriminator(generator(generator.sample_latent(100)))
    assert out.logits.shape == (100, 10) and out.logits.isfinite().all()


@pytest.mark.parametrize(
    "model, bad_input, message",
    [
        (MNISTDiscriminator(), torch.rand(4, 3, 28, 28), r"\[N, 1, 28, 28\] or \[N, 784\]"),
        (MNISTDiscriminator(), torch.rand(4, 783), r"\(got \[4, 783\]\)"),
        (MNISTGenerator(), torch.rand(4, 64), r"\[N, 100\]"),
        (MNISTGenerator(), torch.rand(100), r"\[N, 100\]"),
    ],
)
def test_wrong_shapes_are_clear_value_errors(model, bad_input, message):
    with pytest.raises(ValueError, match=message):
        model(bad_input)


def test_print_explains_the_models():
    text = repr(MNISTDiscriminator())
    assert "hidden_sizes=(1000, 500, 250, 250, 250), input_noise=0.3, hidden_noise=0.5, features=250" in text
    assert "GaussianNoise(std=0.5)" in text and "trainable_scale=True" in text
    text = repr(MNISTGenerator())
    assert "latent_dim=100" in text and "BatchStatisticsNorm(500, eps=1e-06" in text and "Sigmoid" in text


def test_minibatch_variant_by_hand_and_cross_sample_flag():
    # + T (250*100*5 = 125,000) + its bias (100) + 100 more inputs to the output layer (100*10 = 1,000),
    # + T's log-scales (100*5 = 500) in the authors' weight-normalised layer (the default)
    discriminator = MNISTDiscriminator(minibatch_kernels=100, minibatch_kernel_dim=5)
    assert _trainable(discriminator) == 1_538_770 + 125_000 + 100 + 1_000 + 500
    plain = MNISTDiscriminator(minibatch_kernels=100, minibatch_kernel_dim=5, minibatch_weight_norm=False)
    assert _trainable(plain) == 1_538_770 + 125_000 + 100 + 1_000
    assert discriminator.cross_sample and not MNISTDiscriminator().cross_sample
    assert MNISTDiscriminator(minibatch_kernels=0).minibatch_kernels == 0
    discriminator.eval()
    x = torch.rand(6, 784)
    out = discriminator(x)
    assert out.logits.shape == (6, 10) and out.features.shape == (6, 250)
    # the minibatch features make a row's logits depend on the rest of its batch
    assert not torch.allclose(discriminator(x[:3]).logits, out.logits[:3])
