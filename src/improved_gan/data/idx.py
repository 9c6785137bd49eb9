"""A strict reader for IDX files, the format MNIST is distributed in.

An IDX file is a 4-byte magic number ``0x00 0x00 <type code> <ndim>``, then
``ndim`` big-endian ``uint32`` dimensions, then the values in C order
(http://yann.lecun.com/exdb/mnist/, "FILE FORMATS FOR THE MNIST DATABASE").
MNIST uses type code ``0x08`` (unsigned byte): labels have magic ``0x00000801``
([N]) and images ``0x00000803`` ([N, rows, cols]).

Every defect raises one :class:`~improved_gan.errors.DataError` that names the
file, says what is wrong and how to fix it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from improved_gan.data.files import GZIP_MAGIC, REDOWNLOAD
from improved_gan.errors import DataError

UBYTE_TYPE_CODE = 0x08
_TYPE_NAMES = {0x08: "uint8", 0x09: "int8", 0x0B: "int16", 0x0C: "int32", 0x0D: "float32", 0x0E: "float64"}


def parse_idx(data: bytes, *, path: Path, ndim: int) -> np.ndarray:
    """Parse IDX bytes holding unsigned bytes with ``ndim`` dimensions.

    Args:
        data: the uncompressed file content.
        path: the file it came from (named in errors only).
        ndim: the expected number of dimensions (1 for labels, 3 for images).

    Returns:
        ``uint8`` array with the declared dimensions (a view of ``data``).
    """
    expected_magic = f"0x{UBYTE_TYPE_CODE << 8 | ndim:08X}"
    kind = "label" if ndim == 1 else "image"
    if len(data) < 4:
        raise DataError(f"{path}: only {len(data)} bytes, too short for an IDX header. {REDOWNLOAD}")
    magic = int.from_bytes(data[:4], "big")
    if data[:2] == GZIP_MAGIC:
        raise DataError(
            f"{path}: is gzip-compressed but its name does not end in .gz; rename it to {path.name}.gz."
        )
    if data[0] != 0 or data[1] != 0:
        raise DataError(
            f"{path}: magic number 0x{magic:08X} is not an IDX magic number "
            f"(an MNIST {kind} file starts with {expected_magic}); the file is not in IDX format. {REDOWNLOAD}"
        )
    type_code, file_ndim = data[2], data[3]
    if type_code != UBYTE_TYPE_CODE:
        type_name = _TYPE_NAMES.get(type_code, "an unknown type")
        raise DataError(
            f"{path}: magic number 0x{magic:08X} declares values of type code 0x{type_code:02X} ({type_name}); "
            f"an MNIST {kind} file holds unsigned bytes ({expected_magic}). {REDOWNLOAD}"
        )
    if file_ndim != ndim:
        raise DataError(
            f"{path}: magic number 0x{magic:08X} declares {file_ndim} dimensions; an MNIST {kind} file has "
            f"{ndim} ({expected_magic}). Check that it is the {kind} file of its pair (images and labels "
            "swapped?); otherwise delete it and download it again."
        )
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise DataError(
            f"{path}: truncated inside its header ({len(data)} of {header_size} bytes). {REDOWNLOAD}"
        )
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    declared = int(np.prod(dims, dtype=np.int64))
    actual = len(data) - header_size
    shape = " x ".join(f"{d:,}" for d in dims)
    if actual < declared:
        raise DataError(
            f"{path}: truncated: the header declares {shape} = {declared:,} bytes of data "
            f"but the file holds {actual:,}. {REDOWNLOAD}"
        )
    if actual > declared:
        raise DataError(
            f"{path}: {actual - declared:,} unexpected bytes after the {declared:,} bytes of data "
            f"its header declares ({shape}); the file is corrupt. {REDOWNLOAD}"
        )
    return np.frombuffer(data, dtype=np.uint8, count=declared, offset=header_size).reshape(dims)
