"""Study PNGs: pixels only, and a size that does not depend on the content."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from PIL import Image

from improved_gan.turing.images import encode_png


def png_chunks(data: bytes) -> list[str]:
    """Chunk types of a PNG, read independently of Pillow."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    types, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset:offset + 4])
        types.append(data[offset + 4:offset + 8].decode("ascii"))
        offset += 12 + length
    return types


@pytest.mark.parametrize("shape", [(28, 28, 1), (32, 32, 3), (5, 7, 3)])
def test_png_round_trips_pixels_and_carries_nothing_else(shape):
    image = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    data = encode_png(image)
    assert set(png_chunks(data)) == {"IHDR", "IDAT", "IEND"}
    decoded = np.asarray(Image.open(io.BytesIO(data)))
    np.testing.assert_array_equal(decoded.reshape(shape), image)
    assert not Image.open(io.BytesIO(data)).info  # no text, gamma, dpi, exif


@pytest.mark.parametrize("shape", [(28, 28, 1), (32, 32, 3), (64, 64, 3)])
def test_png_size_depends_only_on_shape(shape):
    rng = np.random.default_rng(1)
    noise = rng.integers(0, 256, shape, dtype=np.uint8)
    flat = np.zeros(shape, np.uint8)
    ramp = np.broadcast_to(np.linspace(0, 255, shape[1]).astype(np.uint8)[None, :, None], shape)
    sizes = {len(encode_png(np.ascontiguousarray(im))) for im in (noise, flat, ramp)}
    assert len(sizes) == 1
