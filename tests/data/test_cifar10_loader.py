"""CIFAR-10: the real npz shards, synthetic official pickles, damage, the download path."""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest

from improved_gan.data import load_dataset
from improved_gan.data import cifar10
from improved_gan.errors import DataError

# --- the real shards (../shared/data/cifar10) ---------------------------------------------------


@pytest.fixture
def few_shards(tmp_path: Path, shared_data: Path) -> Path:
    """A data root whose cifar10/ links two real training shards, the test shard and the checksums."""
    folder = tmp_path / "cifar10"
    folder.mkdir()
    for name in ("train-00.npz", "train-01.npz", "test-first1000-00.npz", "SHA256SUMS.txt"):
        os.symlink(shared_data / "cifar10" / name, folder / name)
    return tmp_path


def test_real_shards_concatenate_in_order(few_shards, shared_data):
    train = load_dataset("cifar10", root=few_shards, split="train", download=False)
    assert train.images.shape == (2000, 32, 32, 3) and train.images.dtype == np.uint8
    with np.load(shared_data / "cifar10" / "train-01.npz") as shard:
        np.testing.assert_array_equal(train.images[1000:], shard["x"])
        np.testing.assert_array_equal(train.labels[1000:], shard["y"])
    assert train.partial and "2,000 of the official 50,000" in train.note
    assert train.class_names[0] == "airplane" and train.class_names[9] == "truck"


def test_real_partial_test_split(shared_data):
    test = load_dataset("cifar10", root=shared_data, split="test", download=False)
    assert len(test) == 1000 and test.partial
    assert "1,000 of the official 10,000" in test.note and "confidence interval" in test.note
    assert test.class_counts().tolist() == [103, 89, 100, 103, 90, 86, 112, 102, 106, 109]


def test_real_full_training_set(shared_data):
    train = load_dataset("cifar10", root=shared_data, split="train", download=False)
    assert len(train) == 50_000 and not train.partial
    assert train.class_counts().tolist() == [5000] * 10
    # The standard per-channel means /255 (../shared/data/README.md).
    means = train.images.reshape(-1, 3).mean(axis=0, dtype=np.float64) / 255
    np.testing.assert_allclose(means, [0.49140, 0.48216, 0.44653], atol=5e-6)  # half the published 5th decimal


def test_shard_checksum_mismatch(tmp_path, shared_data):
    folder = tmp_path / "cifar10"
    folder.mkdir()
    shutil.copyfile(shared_data / "cifar10" / "test-first1000-00.npz", folder / "test-first1000-00.npz")
    (folder / "SHA256SUMS.txt").write_text(f"{'0' * 64}  test-first1000-00.npz\n")
    with pytest.raises(DataError, match="content differs from the digests listed in") as err:
        load_dataset("cifar10", root=tmp_path, split="test", download=False)
    assert str(folder / "test-first1000-00.npz") in str(err.value)


# --- synthetic shards -----------------------------------------------------------------------------


def _images(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)


def _shard_root(tmp_path: Path, **arrays) -> Path:
    (tmp_path / "cifar10").mkdir(exist_ok=True)
    np.savez(tmp_path / "cifar10" / "test-00.npz", **arrays)
    return tmp_path


def _load_test_error(root: Path) -> str:
    with pytest.raises(DataError) as err:
        load_dataset("cifar10", root=root, split="test", download=False)
    assert str(root / "cifar10") in str(err.value)
    return str(err.value)


@pytest.mark.parametrize(
    ("arrays", "expected"),
    [
        ({"x": _images(5), "y": np.zeros(4, np.int64)}, "'x' holds 5 images but 'y' holds 4 labels"),
        ({"x": _images(5)}, "lacks the array(s) 'y' (it holds: x)"),
        ({"images": _images(2), "labels": np.zeros(2)}, "lacks the array(s) 'x', 'y'"),
        ({"x": _images(3)[:, :, :, :1], "y": np.zeros(3, np.int64)}, "'x' is uint8 [3, 32, 32, 1]"),
        ({"x": _images(3).astype(np.float32), "y": np.zeros(3, np.int64)}, "'x' is float32"),
        ({"x": _images(3), "y": np.zeros((3, 1), np.int64)}, "'y' is int64 [3, 1]"),
        ({"x": _images(3), "y": np.array([0.0, 1.0, 2.0])}, "'y' is float64"),
        ({"x": _images(3), "y": np.array([0, 10, 2])}, "labels span 0..10"),
        ({"x": _images(2), "y": np.array([{}, {}], dtype=object)}, "cannot be read (Object arrays"),
    ],
)
def test_bad_shards(tmp_path, arrays, expected):
    assert expected in _load_test_error(_shard_root(tmp_path, **arrays))


def test_garbage_and_single_array_files(tmp_path):
    (tmp_path / "cifar10").mkdir()
    shard = tmp_path / "cifar10" / "test-00.npz"
    shard.write_bytes(b"PK\x03\x04 not really a zip")
    assert "not a readable .npz file" in _load_test_error(tmp_path)
    with open(shard, "wb") as f:
        np.save(f, _images(2))
    assert "holds a single array" in _load_test_error(tmp_path)


def test_natural_shard_order_and_unlisted_shard(tmp_path):
    folder = tmp_path / "cifar10"
    folder.mkdir()
    for number in (10, 2, 1):
        np.savez(folder / f"test-{number}.npz", x=_images(1, seed=number), y=np.array([number % 10]))
    test = load_dataset("cifar10", root=tmp_path, split="test", download=False)
    assert test.labels.tolist() == [1, 2, 0]  # test-1, test-2, test-10
    digest = hashlib.sha256((folder / "test-1.npz").read_bytes()).hexdigest()
    (folder / "SHA256SUMS.txt").write_text(f"{digest}  test-1.npz\n")
    message = _load_test_error(tmp_path)
    assert "test-2.npz: not listed in" in message


def test_malformed_checksum_file(tmp_path):
    root = _shard_root(tmp_path, x=_images(1), y=np.array([1]))
    (root / "cifar10" / "SHA256SUMS.txt").write_text("abc test-00.npz\n")
    assert "line 1 is not" in _load_test_error(root)


def test_more_images_than_the_official_split(tmp_path):
    root = _shard_root(tmp_path, x=np.zeros((10_001, 32, 32, 3), np.uint8), y=np.zeros(10_001, np.int64))
    assert "more than the 10,000" in _load_test_error(root)


def test_train_shards_without_test_shards_is_an_error_not_a_download(tmp_path):
    (tmp_path / "cifar10").mkdir()
    np.savez(tmp_path / "cifar10" / "train-00.npz", x=_images(2), y=np.array([0, 1]))

    def must_not_download(url, destination):
        raise AssertionError("shards are present: nothing to download")

    with pytest.raises(DataError, match="holds no test-"):
        load_dataset("cifar10", root=tmp_path, split="test", downloader=must_not_download)


def test_validation_needs_enough_training_images(tmp_path):
    (tmp_path / "cifar10").mkdir()
    np.savez(tmp_path / "cifar10" / "train-00.npz", x=_images(10), y=np.arange(10))
    with pytest.raises(DataError, match="too few to hold out the last 5,000"):
        load_dataset("cifar10", root=tmp_path, split="validation", download=False)


# --- synthetic pickles in the official format ------------------------------------------------------


def _batch(n: int, seed: int, *, byte_keys: bool = False) -> dict:
    rng = np.random.default_rng(seed)
    batch = {
        "batch_label": f"batch {seed}",
        "labels": rng.integers(0, 10, n).tolist(),
        "data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
        "filenames": [f"img_{seed}_{i}.png" for i in range(n)],
    }
    return {k.encode(): v for k, v in batch.items()} if byte_keys else batch


def _write_release(folder: Path, n: int = 4) -> dict[str, dict]:
    folder.mkdir(parents=True)
    batches = {}
    for seed, name in enumerate(cifar10.BATCH_MD5):
        batches[name] = _batch(n, seed, byte_keys=name == "data_batch_2")
        (folder / name).write_bytes(pickle.dumps(batches[name], protocol=2))
    return batches


@pytest.fixture
def trust_fixture_md5s(monkeypatch):
    """Make the generated release the 'official' one: its files' MD5s replace the published ones."""

    def trust(folder: Path) -> None:
        for name in cifar10.BATCH_MD5:
            monkeypatch.setitem(cifar10.BATCH_MD5, name, hashlib.md5((folder / name).read_bytes()).hexdigest())

    return trust


def test_official_pickles(tmp_path, trust_fixture_md5s):
    folder = tmp_path / "cifar10" / "cifar-10-batches-py"
    batches = _write_release(folder)
    trust_fixture_md5s(folder)
    train = load_dataset("cifar10", root=tmp_path, split="train", download=False)
    assert train.images.shape == (20, 32, 32, 3) and not train.partial
    # Independently: pixel (row r, column c) of channel k is data[i, 1024 k + 32 r + c].
    data = batches["data_batch_2"][b"data"]
    i, r, c = 1, 7, 30
    assert [train.images[4 + i, r, c, k] for k in range(3)] == [data[i, 1024 * k + 32 * r + c] for k in range(3)]
    assert train.labels[:4].tolist() == batches["data_batch_1"]["labels"]
    test = load_dataset("cifar10", root=tmp_path, split="test", download=False)
    assert len(test) == 4 and test.sources == (str(folder / "test_batch"),)


def test_pickles_in_the_root_and_preferred_over_shards(tmp_path, trust_fixture_md5s):
    folder = tmp_path / "cifar-10-batches-py"
    _write_release(folder)
    trust_fixture_md5s(folder)
    _shard_root(tmp_path, x=_images(3), y=np.zeros(3, np.int64))
    assert len(load_dataset("cifar10", root=tmp_path, split="test", download=False)) == 4


def test_pickles_that_are_not_the_official_release(tmp_path):
    folder = tmp_path / "cifar10" / "cifar-10-batches-py"
    _write_release(folder)
    with pytest.raises(DataError, match="content differs from the official CIFAR-10 python release") as err:
        load_dataset("cifar10", root=tmp_path, split="test", download=False)
    assert str(folder / "test_batch") in str(err.value)


class _Exploit:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (lambda good: good[: len(good) // 2], "not a readable CIFAR-10 batch"),
        (lambda good: b"garbage" * 10, "not a readable CIFAR-10 batch"),
        (lambda good: pickle.dumps(_Exploit(), protocol=2), "references posix.system"),
        (lambda good: pickle.dumps([1, 2], protocol=2), "holds a list"),
        (lambda good: pickle.dumps({"labels": [1]}, protocol=2), "lacks 'data'"),
        (lambda good: pickle.dumps({"data": np.zeros((2, 3000), np.uint8), "labels": [0, 1]}, 2), "uint8 [N, 3072]"),
        (lambda good: pickle.dumps({"data": np.zeros((2, 3072), np.uint8), "labels": [0]}, 2), "2 integers"),
        (lambda good: pickle.dumps({"data": np.zeros((2, 3072), np.uint8), "labels": [0, 12]}, 2), "0..12"),
        (lambda good: pickle.dumps({"data": np.zeros((2, 3072), np.uint8), "labels": [[0], [1, 2]]}, 2), "not a list of integers"),
    ],
)
def test_damaged_pickles(tmp_path, content, expected):
    folder = tmp_path / "cifar10" / "cifar-10-batches-py"
    _write_release(folder)
    path = folder / "test_batch"
    path.write_bytes(content(path.read_bytes()))
    with pytest.raises(DataError) as err:
        load_dataset("cifar10", root=tmp_path, split="test", download=False)
    assert str(path) in str(err.value) and expected in str(err.value)


def test_incomplete_release(tmp_path):
    folder = tmp_path / "cifar10" / "cifar-10-batches-py"
    _write_release(folder)
    (folder / "data_batch_3").unlink()
    with pytest.raises(DataError, match="incomplete CIFAR-10 release, data_batch_3 missing"):
        load_dataset("cifar10", root=tmp_path, split="train", download=False)


# --- missing data, download ------------------------------------------------------------------------


def test_missing_offline(tmp_path, offline):
    with pytest.raises(DataError) as err:
        load_dataset("cifar10", root=tmp_path, split="train", downloader=offline)
    message = str(err.value)
    for looked in ("cifar10/cifar-10-batches-py", str(tmp_path / "cifar-10-batches-py"), "cifar10/train-*.npz"):
        assert looked in message
    assert "--data-dir" in message and "IMPROVED_GAN_DATA" in message and "name resolution" in message


def _release_archive(tmp_path: Path) -> bytes:
    source = tmp_path / "source"
    _write_release(source / "cifar-10-batches-py")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(source / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    return buffer.getvalue()


def test_download_unpacks_the_verified_archive(tmp_path, monkeypatch, trust_fixture_md5s):
    archive = _release_archive(tmp_path)
    monkeypatch.setattr(cifar10, "ARCHIVE_MD5", hashlib.md5(archive).hexdigest())
    trust_fixture_md5s(tmp_path / "source" / "cifar-10-batches-py")
    urls = []

    def serve(url: str, destination: Path) -> None:
        urls.append(url)
        destination.write_bytes(archive)

    root = tmp_path / "root"
    train = load_dataset("cifar10", root=root, split="train", downloader=serve)
    assert len(train) == 20 and urls == [cifar10.ARCHIVE_URL]
    assert sorted(p.name for p in (root / "cifar10").iterdir()) == ["cifar-10-batches-py"]  # archive removed


def test_download_with_a_wrong_archive_leaves_nothing(tmp_path):
    def serve(url: str, destination: Path) -> None:
        destination.write_bytes(b"not the archive")

    with pytest.raises(DataError, match="content differs from the official CIFAR-10 python release"):
        load_dataset("cifar10", root=tmp_path, split="test", downloader=serve)
    assert not (tmp_path / "cifar10").exists()  # the folder made for the download was left behind, empty


def test_a_failed_download_keeps_folders_it_did_not_make(tmp_path):
    (tmp_path / "cifar10").mkdir()
    (tmp_path / "cifar10" / "notes.txt").write_text("mine")

    def offline(url: str, destination: Path) -> None:
        raise OSError("network is unreachable")

    with pytest.raises(DataError, match="not found"):
        load_dataset("cifar10", root=tmp_path, split="test", downloader=offline)
    assert [p.name for p in (tmp_path / "cifar10").iterdir()] == ["notes.txt"]
