"""Checksums of dataset content, and the error raised when one does not match."""

from __future__ import annotations

import hashlib
from pathlib import Path

from improved_gan.data.files import REDOWNLOAD
from improved_gan.errors import DataError

_CHUNK = 1 << 20


def md5_hex(data: bytes) -> str:
    """MD5 of in-memory bytes (an integrity check, not a security measure)."""
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def file_digest(path: Path, algorithm: str) -> str:
    """Hex digest of a file's bytes, read in 1 MiB chunks; ``algorithm`` is a hashlib name."""
    digest = hashlib.new(algorithm, usedforsecurity=False)
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def require_digest(path: Path, actual: str, expected: str, *, algorithm: str, release: str) -> None:
    """Raise :class:`DataError` unless ``actual == expected``.

    Args:
        path: the file whose content was hashed (named in the message).
        actual, expected: hex digests.
        algorithm: ``"md5"`` or ``"sha256"``, for the message.
        release: what the digest identifies, e.g. ``"the official MNIST release"``.
    """
    if actual != expected:
        raise DataError(
            f"{path}: content differs from {release} ({algorithm} {actual}, expected {expected}); "
            f"the file is damaged or is a different dataset. {REDOWNLOAD}"
        )
