"""Reading a dataset file whole, gunzipping it when its name ends in ``.gz``."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

from improved_gan.errors import DataError

GZIP_MAGIC = b"\x1f\x8b"

REDOWNLOAD = "Delete the file and download it again (or copy a good one in its place)."
"""The fix for a damaged file, ending every such error message."""


def read_file_bytes(path: Path) -> bytes:
    """The file's content, gunzipped when its name ends in ``.gz``."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise DataError(f"{path}: cannot be read ({err.strerror or err}).") from err
    if path.suffix != ".gz":
        return raw
    if not raw.startswith(GZIP_MAGIC):
        raise DataError(
            f"{path}: is named .gz but is not gzip-compressed (it starts with 0x{raw[:4].hex()}). "
            "Rename it without .gz if it is uncompressed; otherwise delete it and download it again."
        )
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as err:
        raise DataError(f"{path}: the gzip stream is damaged or truncated ({err}). {REDOWNLOAD}") from err
