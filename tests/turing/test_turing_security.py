"""Tokens, their hashes, and the HMAC that binds forms to a browser."""

from __future__ import annotations

from improved_gan.turing import security


def test_tokens_are_fresh_and_well_formed():
    tokens = {security.new_token() for _ in range(100)}
    assert len(tokens) == 100
    assert all(security.is_well_formed_token(t) for t in tokens)
    for bad in (None, "", "short", "x" * 43 + "!", "a" * 44):
        assert not security.is_well_formed_token(bad)


def test_tokens_match_only_their_hash():
    token = security.new_token()
    stored = security.hash_token(token)
    assert len(stored) == 64 and token not in stored
    assert security.tokens_match(token, stored)
    assert not security.tokens_match(security.new_token(), stored)
    assert not security.tokens_match(token[:-1], stored)
    assert not security.tokens_match(None, stored)


def test_signatures_depend_on_key_purpose_and_binding():
    key, other_key = security.new_key(), security.new_key()
    sig = security.sign(key, "vote", "abc")
    assert security.signature_matches(key, "vote", "abc", sig)
    assert not security.signature_matches(other_key, "vote", "abc", sig)
    assert not security.signature_matches(key, "start", "abc", sig)
    assert not security.signature_matches(key, "vote", "abd", sig)
    assert not security.signature_matches(key, "vote", "abc", None)
    assert not security.signature_matches(key, "vote", "abc", sig + "x" * 60)


def test_image_names_are_random_hex():
    names = {security.new_image_name() for _ in range(1000)}
    assert len(names) == 1000
    assert all(len(n) == 32 and int(n, 16) >= 0 for n in names)
