"""The Inception plumbing, on a network with random weights of the real file's layout.

No real weights exist here, so these tests check what the wrapper adds around
torch-fidelity's port: weights discovery and verification, the uint8 input
contract, the 0..255 -> (x - 128) / 128 input range, TensorFlow 1.x's resize to
299x299, grayscale handling and batch-size independence.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from improved_gan.errors import UserError
from improved_gan.metrics.feature_network import run_network
from improved_gan.metrics.inception import (
    INCEPTION_WEIGHTS_BYTES,
    INCEPTION_WEIGHTS_ENV,
    INCEPTION_WEIGHTS_FILENAME,
    INCEPTION_WEIGHTS_SHA256,
    INCEPTION_WEIGHTS_URL,
    InceptionV3,
    resolve_inception_weights,
)


@pytest.fixture(autouse=True)
def _network_on_cpu(random_inception):
    """Tests here call the shared module directly with CPU tensors; other tests may have moved it."""
    random_inception.to("cpu")


def _first_layer_input(network: InceptionV3, images: torch.Tensor) -> torch.Tensor:
    """What the first convolution receives: the resized, rescaled image."""
    seen = []
    handle = network.network.Conv2d_1a_3x3.register_forward_pre_hook(lambda module, args: seen.append(args[0]))
    try:
        with torch.no_grad():
            network(images)
    finally:
        handle.remove()
    return seen[0]


def _tf1_resize_bilinear(image: np.ndarray, size: int) -> np.ndarray:
    """TensorFlow 1.x ``resize_bilinear`` (align_corners=False, no half-pixel centres), written out in float64.

    Output pixel j samples the input at ``j * in / out``, the weights are the
    fractional parts and the last row/column is clamped.
    """

    def axis_weights(n_in: int) -> np.ndarray:
        w = np.zeros((size, n_in))
        for j in range(size):
            x = j * n_in / size
            lo = int(np.floor(x))
            hi = min(lo + 1, n_in - 1)
            w[j, lo] += 1 - (x - lo)
            w[j, hi] += x - lo
        return w

    rows, cols = axis_weights(image.shape[0]), axis_weights(image.shape[1])
    return rows @ image.astype(np.float64) @ cols.T


def test_outputs_are_logits_and_pool_features(random_inception):
    images = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    with torch.no_grad():
        out = random_inception(images)
    assert out.logits.shape == (2, 1008) and out.features.shape == (2, 2048)
    assert out.logits.dtype == torch.float32 and torch.isfinite(out.logits).all()
    # logits_unbiased: pool_3 times the softmax weights, without the bias
    fc = random_inception.network.fc
    torch.testing.assert_close(out.logits, out.features @ fc.weight.T, rtol=1e-4, atol=1e-4)
    assert not torch.allclose(out.logits, fc(out.features), atol=1e-2)


def test_pixels_enter_as_x_minus_128_over_128(random_inception):
    images = torch.stack([torch.full((3, 8, 8), v, dtype=torch.uint8) for v in (0, 128, 255)])
    seen = _first_layer_input(random_inception, images)
    assert seen.shape == (3, 3, 299, 299)
    for i, value in enumerate((0, 128, 255)):
        torch.testing.assert_close(seen[i], torch.full_like(seen[i], (value - 128) / 128))


def test_resize_to_299_is_tensorflow_1x_bilinear(random_inception):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=(32, 28), dtype=np.uint8)  # not square: each axis on its own
    rgb = torch.from_numpy(np.stack([image] * 3))[None]
    seen = _first_layer_input(random_inception, rgb)[0, 0].double() * 128 + 128
    expected = _tf1_resize_bilinear(image, 299)
    np.testing.assert_allclose(seen.numpy(), expected, atol=2e-3)
    # the test can tell: PyTorch's own bilinear resize (half-pixel centres) differs by whole grey levels
    half_pixel = F.interpolate(torch.from_numpy(image)[None, None].double(), size=(299, 299), mode="bilinear")
    assert np.abs(half_pixel[0, 0].numpy() - expected).max() > 10


def test_grayscale_is_repeated_to_rgb(random_inception):
    gray = torch.randint(0, 256, (2, 1, 28, 28), dtype=torch.uint8)
    with torch.no_grad():
        from_gray = random_inception(gray)
        from_rgb = random_inception(gray.repeat(1, 3, 1, 1))
    torch.testing.assert_close(from_gray.features, from_rgb.features)


def test_result_does_not_depend_on_batch_size(random_inception):
    images = np.random.default_rng(1).integers(0, 256, size=(5, 32, 32, 3), dtype=np.uint8)
    whole = run_network(random_inception, images, batch_size=5)
    pieces = run_network(random_inception, images, batch_size=2)
    spread = np.abs(whole.logits - whole.logits.mean(axis=0)).max()  # how much images differ
    # batches of 2 and of 5 take other float32 conv kernels (as other CPUs do): rounding of ~1e-7 per
    # product, grown through ~50 layers, stays below 1e-4 relative; images differ by the spread
    np.testing.assert_allclose(pieces.logits, whole.logits, atol=1e-4 * spread, rtol=1e-4)
    np.testing.assert_allclose(pieces.features, whole.features, atol=1e-5, rtol=1e-4)


def test_float_input_is_refused(random_inception):
    with pytest.raises(TypeError, match="uint8"):
        random_inception(torch.rand(1, 3, 32, 32))
    with pytest.raises(UserError, match="dtype uint8"):
        run_network(random_inception, np.random.rand(1, 32, 32, 3).astype(np.float32))


def test_wrong_channel_count_is_refused(random_inception):
    with pytest.raises(ValueError, match="C = 1 or 3"):
        random_inception(torch.zeros(1, 4, 32, 32, dtype=torch.uint8))


def test_network_stays_frozen(random_inception):
    random_inception.train()
    assert not random_inception.training and not random_inception.network.training
    assert not any(p.requires_grad for p in random_inception.parameters())


def test_wrong_checksum_is_one_clear_error(random_inception_weights, tmp_path):
    path, sha256 = random_inception_weights
    corrupt = tmp_path / "corrupt.pth"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    corrupt.write_bytes(bytes(data))
    with pytest.raises(UserError, match=f"has sha256 [0-9a-f]{{64}}, expected {sha256}"):
        InceptionV3(corrupt, sha256=sha256)


def test_real_weights_are_checked_for_size_and_sha256(random_inception_weights):
    path, _ = random_inception_weights  # not the published file
    with pytest.raises(UserError, match=f"expected {INCEPTION_WEIGHTS_BYTES:,}"):
        InceptionV3(path)


def test_missing_weights_say_what_file_and_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.delenv(INCEPTION_WEIGHTS_ENV, raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))  # an empty torch-fidelity cache
    with pytest.raises(UserError) as err:
        resolve_inception_weights()
    message = str(err.value)
    for fact in (INCEPTION_WEIGHTS_FILENAME, f"{INCEPTION_WEIGHTS_BYTES:,} bytes", INCEPTION_WEIGHTS_SHA256,
                 INCEPTION_WEIGHTS_URL, "--weights", INCEPTION_WEIGHTS_ENV, "--download-weights"):
        assert fact in message
    assert "\n" not in message


def test_weights_path_comes_from_argument_then_environment_then_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    cached = tmp_path / "torch-home" / "hub" / "checkpoints" / INCEPTION_WEIGHTS_FILENAME
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"cached")
    from_env = tmp_path / "env.pth"
    from_env.write_bytes(b"env")
    given = tmp_path / "given.pth"
    given.write_bytes(b"given")
    monkeypatch.delenv(INCEPTION_WEIGHTS_ENV, raising=False)
    assert resolve_inception_weights() == cached
    monkeypatch.setenv(INCEPTION_WEIGHTS_ENV, str(from_env))
    assert resolve_inception_weights() == from_env
    assert resolve_inception_weights(given) == given
    with pytest.raises(UserError, match="does not exist"):
        resolve_inception_weights(tmp_path / "nope.pth")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_agrees_with_cpu(random_inception):
    images = np.random.default_rng(2).integers(0, 256, size=(4, 32, 32, 3), dtype=np.uint8)
    on_cpu = run_network(random_inception, images, device="cpu")
    on_cuda = run_network(random_inception, images, device="cuda")
    spread = np.abs(on_cpu.logits - on_cpu.logits.mean(axis=0)).max()
    np.testing.assert_allclose(on_cuda.logits, on_cpu.logits, atol=1e-3 * spread, rtol=1e-4)
    np.testing.assert_allclose(on_cuda.features, on_cpu.features, atol=1e-4, rtol=1e-3)


def test_download_is_opt_in_goes_to_torch_fidelitys_location_and_fails_clearly(tmp_path, monkeypatch):
    """No network here: the download function is replaced, to check what is asked of it and what follows."""
    import urllib.error

    monkeypatch.delenv(INCEPTION_WEIGHTS_ENV, raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    calls = []

    def fetch(url, dst, hash_prefix=None, progress=True):
        calls.append((url, hash_prefix))
        with open(dst, "wb") as f:
            f.write(b"weights")

    monkeypatch.setattr(torch.hub, "download_url_to_file", fetch)
    with pytest.raises(UserError, match="not found"):
        resolve_inception_weights()  # download=False never fetches
    assert calls == []
    path = resolve_inception_weights(download=True)
    assert path == tmp_path / "torch-home" / "hub" / "checkpoints" / INCEPTION_WEIGHTS_FILENAME
    assert calls == [(INCEPTION_WEIGHTS_URL, INCEPTION_WEIGHTS_SHA256[:8])]

    path.unlink()

    def offline(url, dst, hash_prefix=None, progress=True):
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(UserError, match="could not download the Inception weights.*no route to host"):
        resolve_inception_weights(download=True)
