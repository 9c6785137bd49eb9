"""The strict IDX reader, on synthetic files built independently of it."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from improved_gan.data.files import read_file_bytes
from improved_gan.data.idx import parse_idx
from improved_gan.errors import DataError

PATH = Path("/data/mnist/some-file-idx3-ubyte")


def _images(n: int = 3, rows: int = 4, cols: int = 5) -> np.ndarray:
    return np.arange(n * rows * cols, dtype=np.uint8).reshape(n, rows, cols)


def test_parses_images_and_labels(make_idx):
    images = _images()
    np.testing.assert_array_equal(parse_idx(make_idx(images), path=PATH, ndim=3), images)
    labels = np.array([3, 0, 9, 9], dtype=np.uint8)
    np.testing.assert_array_equal(parse_idx(make_idx(labels), path=PATH, ndim=1), labels)


def test_dimensions_are_big_endian(make_idx):
    images = _images(n=1, rows=2, cols=300)  # 300 = 0x0000012C: little-endian would read 0x2C010000
    parsed = parse_idx(make_idx(images), path=PATH, ndim=3)
    assert parsed.shape == (1, 2, 300)


def _error(data: bytes, ndim: int = 3) -> str:
    with pytest.raises(DataError) as err:
        parse_idx(data, path=PATH, ndim=ndim)
    message = str(err.value)
    assert str(PATH) in message
    return message


def test_wrong_magic(make_idx):
    data = bytearray(make_idx(_images()))
    data[0:2] = b"\x12\x34"
    message = _error(bytes(data))
    assert "magic number 0x12340803" in message and "0x00000803" in message


def test_wrong_type_code(make_idx):
    message = _error(make_idx(_images(), type_code=0x0B))
    assert "0x0B" in message and "int16" in message and "unsigned bytes" in message


def test_wrong_number_of_dimensions(make_idx):
    message = _error(make_idx(np.zeros(7, np.uint8)), ndim=3)
    assert "declares 1 dimensions" in message and "0x00000803" in message


def test_truncated_data(make_idx):
    data = make_idx(_images())
    message = _error(data[:-7])
    assert "truncated" in message and "declares 3 x 4 x 5 = 60 bytes" in message and "holds 53" in message


def test_truncated_header(make_idx):
    message = _error(make_idx(_images())[:9])
    assert "truncated inside its header" in message


def test_too_short_for_magic():
    assert "too short" in _error(b"\x00\x00")


def test_extra_bytes(make_idx):
    message = _error(make_idx(_images()) + b"\x00\x01")
    assert "2 unexpected bytes" in message


def test_gzip_content_without_gz_suffix(make_idx):
    message = _error(gzip.compress(make_idx(_images())))
    assert "rename it to" in message and ".gz" in message


def test_read_file_bytes_gz_and_raw_agree(tmp_path, make_idx):
    data = make_idx(_images())
    (tmp_path / "raw").write_bytes(data)
    (tmp_path / "packed.gz").write_bytes(gzip.compress(data))
    assert read_file_bytes(tmp_path / "raw") == data
    assert read_file_bytes(tmp_path / "packed.gz") == data


def test_gz_name_without_gzip_content(tmp_path, make_idx):
    path = tmp_path / "labels.gz"
    path.write_bytes(make_idx(np.zeros(3, np.uint8)))
    with pytest.raises(DataError, match="is named .gz but is not gzip-compressed") as err:
        read_file_bytes(path)
    assert str(path) in str(err.value)


def test_truncated_gzip_stream(tmp_path, make_idx):
    path = tmp_path / "images.gz"
    rng = np.random.default_rng(0)
    path.write_bytes(gzip.compress(make_idx(rng.integers(0, 256, (20, 28, 28), dtype=np.uint8)))[:-100])
    with pytest.raises(DataError, match="gzip stream is damaged or truncated") as err:
        read_file_bytes(path)
    assert str(path) in str(err.value)


def test_unreadable_file(tmp_path):
    with pytest.raises(DataError, match="cannot be read"):
        read_file_bytes(tmp_path / "missing")
