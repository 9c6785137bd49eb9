"""MNIST from the real IDX files: counts, content digests, layouts, damage, downloads."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from improved_gan.data import load_dataset
from improved_gan.data.mnist import UNCOMPRESSED_MD5
from improved_gan.errors import DataError

# Published with MNIST (and in ../shared/data/README.md).
TRAIN_CLASS_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_CLASS_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_real_train_split(shared_data):
    train = load_dataset("mnist", root=shared_data, split="train", download=False)
    assert train.images.shape == (60_000, 28, 28, 1) and train.images.dtype == np.uint8
    assert train.labels.shape == (60_000,) and train.labels.dtype == np.int64
    assert train.class_counts().tolist() == TRAIN_CLASS_COUNTS
    assert train.labels[:5].tolist() == [5, 0, 4, 1, 9]  # the well-known first training digits
    assert train.images.max() == 255 and train.images.min() == 0
    assert train.images.flags.writeable and not train.partial


def test_real_test_split(shared_data):
    test = load_dataset("mnist", root=shared_data, split="test", download=False)
    assert test.images.shape == (10_000, 28, 28, 1)
    assert test.class_counts().tolist() == TEST_CLASS_COUNTS
    assert test.labels[:3].tolist() == [7, 2, 1]


def test_published_uncompressed_md5s_match_the_files(shared_data):
    published = dict(
        line.split()[::-1] for line in (shared_data / "mnist" / "MD5SUMS-uncompressed.txt").read_text().splitlines()
    )
    assert published == UNCOMPRESSED_MD5
    for name, md5 in UNCOMPRESSED_MD5.items():
        content = gzip.decompress((shared_data / "mnist" / f"{name}.gz").read_bytes())
        assert hashlib.md5(content).hexdigest() == md5


def test_uncompressed_files_load_identically(tmp_path, shared_data, mnist_content):
    (tmp_path / "mnist").mkdir()
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (tmp_path / "mnist" / name).write_bytes(mnist_content(name))
    raw = load_dataset("mnist", root=tmp_path, split="test", download=False)
    packed = load_dataset("mnist", root=shared_data, split="test", download=False)
    np.testing.assert_array_equal(raw.images, packed.images)
    np.testing.assert_array_equal(raw.labels, packed.labels)
    assert raw.sources[0].endswith("mnist/t10k-images-idx3-ubyte")


def test_torchvision_layout(tmp_path, shared_data):
    raw_folder = tmp_path / "MNIST" / "raw"
    raw_folder.mkdir(parents=True)
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copyfile(shared_data / "mnist" / name, raw_folder / name)
    test = load_dataset("mnist", root=tmp_path, split="test", download=False)
    assert len(test) == 10_000 and test.sources[0] == str(raw_folder / "t10k-images-idx3-ubyte.gz")


# --- damaged copies: each gives one DataError naming the file --------------------------------


def _write_gz(path: Path, content: bytes) -> None:
    path.write_bytes(gzip.compress(content, compresslevel=1))


def _load_test_error(root: Path) -> str:
    with pytest.raises(DataError) as err:
        load_dataset("mnist", root=root, split="test", download=False)
    return str(err.value)


def test_truncated_image_file(mnist_root, mnist_content):
    path = mnist_root / "mnist" / "t10k-images-idx3-ubyte.gz"
    _write_gz(path, mnist_content("t10k-images-idx3-ubyte")[:-784])
    message = _load_test_error(mnist_root)
    assert str(path) in message and "truncated" in message and "10,000 x 28 x 28" in message


def test_truncated_gzip_download(mnist_root):
    path = mnist_root / "mnist" / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:2000])
    message = _load_test_error(mnist_root)
    assert str(path) in message and "gzip stream is damaged or truncated" in message


def test_wrong_magic_number(mnist_root, mnist_content):
    path = mnist_root / "mnist" / "t10k-labels-idx1-ubyte.gz"
    content = bytearray(mnist_content("t10k-labels-idx1-ubyte"))
    content[3] = 3  # claims 3 dimensions: an image file's magic
    _write_gz(path, bytes(content))
    message = _load_test_error(mnist_root)
    assert str(path) in message and "0x00000803" in message and "0x00000801" in message


def test_labels_out_of_range(mnist_root, mnist_content):
    path = mnist_root / "mnist" / "t10k-labels-idx1-ubyte.gz"
    content = bytearray(mnist_content("t10k-labels-idx1-ubyte"))
    content[8 + 123] = 12
    _write_gz(path, bytes(content))
    message = _load_test_error(mnist_root)
    assert str(path) in message and "label 12 at index 123" in message and "0-9" in message


def test_image_and_label_counts_disagree(mnist_root, mnist_content):
    # A complete, valid label file, but the training set's (60,000) beside the test images (10,000).
    path = mnist_root / "mnist" / "t10k-labels-idx1-ubyte.gz"
    _write_gz(path, mnist_content("train-labels-idx1-ubyte"))
    message = _load_test_error(mnist_root)
    assert "10,000 images" in message and "60,000 labels" in message and str(path) in message


def test_wrong_image_size(mnist_root, make_idx):
    path = mnist_root / "mnist" / "t10k-images-idx3-ubyte.gz"
    _write_gz(path, make_idx(np.zeros((10_000, 32, 32), np.uint8)))
    message = _load_test_error(mnist_root)
    assert str(path) in message and "32x32" in message and "28x28" in message


def test_valid_idx_with_other_content_fails_the_digest(mnist_root, mnist_content):
    path = mnist_root / "mnist" / "t10k-images-idx3-ubyte.gz"
    content = bytearray(mnist_content("t10k-images-idx3-ubyte"))
    content[16 + 500] ^= 0xFF  # one pixel of the first image
    _write_gz(path, bytes(content))
    message = _load_test_error(mnist_root)
    assert str(path) in message and "content differs from the official MNIST release" in message
    assert UNCOMPRESSED_MD5["t10k-images-idx3-ubyte"] in message


# --- missing files, offline and online ------------------------------------------------------


def test_missing_files_offline_says_where_it_looked_and_how_to_supply(tmp_path, offline):
    with pytest.raises(DataError) as err:
        load_dataset("mnist", root=tmp_path, split="train", downloader=offline)
    message = str(err.value)
    for path in (
        tmp_path / "mnist" / "train-images-idx3-ubyte",
        tmp_path / "mnist" / "train-images-idx3-ubyte.gz",
        tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte.gz",
    ):
        assert str(path) in message
    assert "Temporary failure in name resolution" in message
    assert "--data-dir" in message and "IMPROVED_GAN_DATA" in message
    assert not (tmp_path / "mnist").exists()  # no partial download left behind, nor the folder made for it


def test_missing_files_with_download_off(tmp_path):
    def must_not_download(url, destination):
        raise AssertionError("download=False must not reach the network")

    with pytest.raises(DataError, match="Downloading was switched off") as err:
        load_dataset("mnist", root=tmp_path, split="test", download=False, downloader=must_not_download)
    assert str(tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz") in str(err.value)


def _copying_downloader(shared_data: Path, calls: list[str], *, fail_first_mirror: bool = False):
    """Serves the real files as if from the network; optionally the first mirror is down."""

    def download(url: str, destination: Path) -> None:
        calls.append(url)
        if fail_first_mirror and len(calls) % 2 == 1:
            raise OSError("connection refused")
        shutil.copyfile(shared_data / "mnist" / url.rsplit("/", 1)[1], destination)

    return download


def test_download_places_verified_files(tmp_path, shared_data):
    calls: list[str] = []
    downloader = _copying_downloader(shared_data, calls, fail_first_mirror=True)
    test = load_dataset("mnist", root=tmp_path, split="test", downloader=downloader)
    assert len(test) == 10_000
    assert calls == [
        "https://ossci-datasets.s3.amazonaws.com/mnist/t10k-images-idx3-ubyte.gz",
        "http://yann.lecun.com/exdb/mnist/t10k-images-idx3-ubyte.gz",
        "https://ossci-datasets.s3.amazonaws.com/mnist/t10k-labels-idx1-ubyte.gz",
        "http://yann.lecun.com/exdb/mnist/t10k-labels-idx1-ubyte.gz",
    ]
    assert sorted(p.name for p in (tmp_path / "mnist").iterdir()) == [
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ]


def test_download_with_wrong_content_is_rejected_and_not_kept(tmp_path, mnist_content):
    def wrong_content(url: str, destination: Path) -> None:
        # A valid IDX file, but the training labels where the test labels were asked for.
        destination.write_bytes(gzip.compress(mnist_content("train-labels-idx1-ubyte")))

    with pytest.raises(DataError) as err:
        load_dataset("mnist", root=tmp_path, split="test", downloader=wrong_content)
    message = str(err.value)
    assert "content differs from the official MNIST release" in message and "not found" in message
    assert not (tmp_path / "mnist").exists()


def test_download_into_unwritable_root(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    with pytest.raises(DataError, match="cannot download into"):
        load_dataset("mnist", root=blocker, split="test", downloader=lambda url, dest: None)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


def test_default_downloader_through_torchvision(tmp_path, shared_data, monkeypatch):
    # The real download path (torchvision's download_url over HTTP) against a loopback server.
    from improved_gan.data import mnist

    handler = functools.partial(_QuietHandler, directory=str(shared_data / "mnist"))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            monkeypatch.setattr(mnist, "MIRRORS", (f"http://127.0.0.1:{server.server_address[1]}/",))
            test = load_dataset("mnist", root=tmp_path, split="test")
        finally:
            server.shutdown()
    assert len(test) == 10_000 and test.sources[0] == str(tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz")
