"""SVHN on small generated .mat files (no SVHN data exists on this machine)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from improved_gan.data import load_dataset
from improved_gan.data import svhn
from improved_gan.errors import DataError

LABELS_1_TO_10 = np.array([1, 10, 3, 10, 5, 9, 2], dtype=np.uint8)


def _official_like(n: int = 7, seed: int = 0) -> dict[str, np.ndarray]:
    images = np.random.default_rng(seed).integers(0, 256, (32, 32, 3, n), dtype=np.uint8)
    return {"X": images, "y": LABELS_1_TO_10[:n].reshape(n, 1)}


def _write(path: Path, variables: dict, *, trusted: pytest.MonkeyPatch | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(path, variables)
    if trusted is not None:  # make this file the "official" one: its MD5 replaces the published one
        trusted.setitem(svhn.FILE_MD5, path.name, hashlib.md5(path.read_bytes()).hexdigest())
    return path


def test_loads_images_and_maps_label_10_to_digit_0(tmp_path, monkeypatch):
    variables = _official_like()
    _write(tmp_path / "svhn" / "train_32x32.mat", variables, trusted=monkeypatch)
    train = load_dataset("svhn", root=tmp_path, split="train", download=False)
    assert train.images.shape == (7, 32, 32, 3) and train.images.dtype == np.uint8
    assert train.labels.tolist() == [1, 0, 3, 0, 5, 9, 2] and train.labels.dtype == np.int64
    for i in range(7):
        np.testing.assert_array_equal(train.images[i], variables["X"][:, :, :, i])
    assert train.class_names[0] == "0" and train.images.flags.c_contiguous


def test_torchvision_layout_and_double_labels(tmp_path, monkeypatch):
    variables = _official_like()
    variables["y"] = variables["y"].astype(np.float64)  # MATLAB's default numeric type
    _write(tmp_path / "test_32x32.mat", variables, trusted=monkeypatch)
    test = load_dataset("svhn", root=tmp_path, split="test", download=False)
    assert test.labels.tolist() == [1, 0, 3, 0, 5, 9, 2]


def _error(tmp_path: Path, variables: dict | None = None, raw: bytes | None = None) -> str:
    path = tmp_path / "svhn" / "train_32x32.mat"
    if raw is None:
        _write(path, variables)
    else:
        path.parent.mkdir(parents=True)
        path.write_bytes(raw)
    with pytest.raises(DataError) as err:
        load_dataset("svhn", root=tmp_path, split="train", download=False)
    assert str(path) in str(err.value)
    return str(err.value)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda v: {"y": v["y"]}, "lacks the variable(s) X (it holds: y)"),
        (lambda v: {**v, "X": v["X"][:28, :28, :1]}, "X is uint8 [28, 28, 1, 7]"),
        (lambda v: {**v, "X": v["X"].astype(np.float32)}, "X is float32"),
        (lambda v: {**v, "X": v["X"].transpose(3, 0, 1, 2)}, "expected uint8 [32, 32, 3, N]"),
        (lambda v: {**v, "y": v["y"][:5]}, "expected 7 numeric labels"),
        (lambda v: {**v, "y": np.zeros((7, 1), np.uint8)}, "found values in 0..0"),
        (lambda v: {**v, "y": np.full((7, 1), 11, np.uint8)}, "found values in 11..11"),
        (lambda v: {**v, "y": v["y"] + 0.5}, "some not whole numbers"),
    ],
)
def test_wrong_content(tmp_path, change, expected):
    assert expected in _error(tmp_path, change(_official_like()))


def test_truncated_and_garbage_files(tmp_path):
    path = _write(tmp_path / "good.mat", _official_like())
    assert "not a readable .mat file" in _error(tmp_path / "a", raw=path.read_bytes()[:-500])
    assert "not a readable .mat file" in _error(tmp_path / "b", raw=b"garbage" * 100)


def test_valid_file_that_is_not_the_official_release(tmp_path):
    assert "content differs from the official SVHN release" in _error(tmp_path, _official_like())


def test_missing_offline(tmp_path, offline):
    with pytest.raises(DataError) as err:
        load_dataset("svhn", root=tmp_path, split="test", downloader=offline)
    message = str(err.value)
    assert str(tmp_path / "svhn" / "test_32x32.mat") in message and str(tmp_path / "test_32x32.mat") in message
    assert "--data-dir" in message and "IMPROVED_GAN_DATA" in message and "name resolution" in message


def test_download(tmp_path, monkeypatch):
    source = _write(tmp_path / "served" / "test_32x32.mat", _official_like(), trusted=monkeypatch)
    urls = []

    def serve(url: str, destination: Path) -> None:
        urls.append(url)
        destination.write_bytes(source.read_bytes())

    test = load_dataset("svhn", root=tmp_path / "root", split="test", downloader=serve)
    assert len(test) == 7 and urls == ["http://ufldl.stanford.edu/housenumbers/test_32x32.mat"]
    assert (tmp_path / "root" / "svhn" / "test_32x32.mat").is_file()


def test_validation_split_needs_the_full_training_set(tmp_path, monkeypatch):
    _write(tmp_path / "svhn" / "train_32x32.mat", _official_like(), trusted=monkeypatch)
    with pytest.raises(DataError, match="holds 7 examples, too few to hold out the last 5,000"):
        load_dataset("svhn", root=tmp_path, split="validation", download=False)
