"""Secrets of the human study: owner and annotator tokens, CSRF tokens, image names.

* Tokens are 256 random bits (``secrets``), handed out once; the database keeps
  only their SHA-256, so a copy of the database does not let anyone vote or read
  results as somebody else.
* CSRF tokens are HMAC-SHA256 under the study's key of a purpose and of what the
  form is bound to (the annotator's session, or a random pre-session nonce held
  in a cookie): a page on another site can neither read nor forge them.
* Image file names are 128 random bits in hex, drawn independently of the
  image, so a name says nothing about whether the image is real; annotators
  never see them: each sees an image under a per-session token
  (:func:`image_token`), so a list of names and kinds shared between
  annotators is worthless.

Every comparison of a secret is constant-time (:func:`hmac.compare_digest`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

TOKEN_BYTES = 32
_TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}")  # urlsafe base64 of 32 bytes, unpadded


def new_token() -> str:
    """A fresh secret token: 43 URL-safe characters (256 bits)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def is_well_formed_token(value: str | None) -> bool:
    """Whether ``value`` has the shape of a token (checked before any lookup)."""
    return value is not None and _TOKEN_PATTERN.fullmatch(value) is not None


def hash_token(token: str) -> str:
    """The hex SHA-256 under which a token is stored."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def tokens_match(token: str | None, stored_hash: str) -> bool:
    """Whether ``token`` hashes to ``stored_hash`` (constant time; False for malformed input)."""
    if not is_well_formed_token(token):
        return False
    return hmac.compare_digest(hash_token(token), stored_hash)


def new_key() -> str:
    """A study's HMAC key: 32 random bytes in hex."""
    return secrets.token_hex(32)


def new_image_name() -> str:
    """An opaque image name: 32 hex characters, independent of the image."""
    return secrets.token_hex(16)


def sign(key_hex: str, purpose: str, binding: str) -> str:
    """HMAC-SHA256 of ``purpose|binding`` under the study key, URL-safe base64."""
    digest = hmac.new(bytes.fromhex(key_hex), f"{purpose}|{binding}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode("ascii")


def signature_matches(key_hex: str, purpose: str, binding: str, supplied: str | None) -> bool:
    """Whether ``supplied`` is :func:`sign` of ``purpose|binding`` (constant time)."""
    if not supplied or len(supplied) > 64:
        return False
    return hmac.compare_digest(sign(key_hex, purpose, binding), supplied)


def b64_byte(signature: str) -> int:
    """The first byte of a :func:`sign` value (to draw a secret coin from it)."""
    return base64.urlsafe_b64decode(signature[:4])[0]


def image_token(key_hex: str, token_hash: str, position: int) -> str:
    """The name under which one annotator sees the image at ``position`` of their sequence.

    32 hex characters of an HMAC under the study's key of the session's token
    hash and the position: it means nothing outside that session (another
    annotator sees the same image under another name), and it names no image
    for anyone but the session's browser, which the server checks.
    """
    digest = hmac.new(bytes.fromhex(key_hex), f"image|{token_hash}|{position}".encode(),
                      hashlib.sha256)
    return digest.hexdigest()[:32]
