"""The models on a CUDA device: same numbers as on the CPU, bfloat16 autocast, channels-last, compile."""

from __future__ import annotations

import pytest
import torch

from improved_gan.layers import init_weight_norm
from improved_gan.models.cifar import CIFARDiscriminator, CIFARGenerator
from improved_gan.models.mnist import MNISTDiscriminator, MNISTGenerator

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]

CUDA = torch.device("cuda")

PAIRS = {
    "mnist": lambda **f: (MNISTGenerator(**f), MNISTDiscriminator(**f)),
    "mnist-mbd": lambda **f: (MNISTGenerator(**f), MNISTDiscriminator(minibatch_kernels=100, **f)),
    "cifar": lambda **f: (CIFARGenerator(**f), CIFARDiscriminator(**f)),
    "cifar-mbd-vbn": lambda **f: (
        CIFARGenerator(norm="virtual", **f),
        CIFARDiscriminator(minibatch_kernels=100, **f),
    ),
}


@pytest.mark.parametrize("name", PAIRS)
def test_float64_cuda_matches_cpu(name):
    torch.manual_seed(0)
    generator, discriminator = PAIRS[name](dtype=torch.float64)
    z = generator.sample_latent(100)
    init_weight_norm(discriminator.eval(), generator(z))
    cpu_images = generator(z)
    cpu_out = discriminator(cpu_images)
    generator.to(CUDA), discriminator.to(CUDA)
    images = generator(z.to(CUDA))
    out = discriminator(images)
    torch.testing.assert_close(images.cpu(), cpu_images, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(out.logits.cpu(), cpu_out.logits, rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("name", PAIRS)
def test_bfloat16_autocast_training_step_on_cuda(name):
    generator, discriminator = PAIRS[name](device=CUDA)
    z = generator.sample_latent(100)
    init_weight_norm(generator, z)
    init_weight_norm(discriminator, generator(z).detach())
    with torch.autocast("cuda", dtype=torch.bfloat16):
        out = discriminator(generator(z))
        loss = torch.nn.functional.softplus(out.logits.float().logsumexp(1)).mean()
    loss.backward()
    assert loss.isfinite()
    for model in (generator, discriminator):
        for parameter in model.parameters():
            assert parameter.dtype == torch.float32 and parameter.grad is not None
            assert parameter.grad.isfinite().all()
        assert all(buffer.device.type == "cuda" for buffer in model.buffers())


def test_channels_last_input_gives_the_same_logits():
    discriminator = CIFARDiscriminator(device=CUDA).eval()
    x = torch.rand(32, 3, 32, 32, device=CUDA) * 2 - 1
    dense = discriminator(x).logits
    channels_last = discriminator(x.contiguous(memory_format=torch.channels_last)).logits
    torch.testing.assert_close(channels_last, dense, rtol=1e-3, atol=1e-3)


def test_noise_and_dropout_act_in_training_mode_only_on_cuda():
    discriminator = MNISTDiscriminator(device=CUDA)
    x = torch.rand(10, 784, device=CUDA)
    assert not torch.equal(discriminator(x).logits, discriminator(x).logits)
    discriminator.eval()
    assert torch.equal(discriminator(x).logits, discriminator(x).logits)


def test_compiled_mnist_discriminator_matches_eager():
    discriminator = MNISTDiscriminator(device=CUDA)
    x = torch.rand(300, 784, device=CUDA)
    init_weight_norm(discriminator, x)
    compiled = torch.compile(discriminator)
    discriminator.eval()
    torch.testing.assert_close(compiled(x).logits, discriminator(x).logits, rtol=1e-4, atol=1e-4)
    discriminator.train()
    compiled(x).logits.logsumexp(1).mean().backward()
    assert discriminator.head[-1].weight_g.grad is not None
