"""Device secrets: length and alphabet of tokens and activation codes, the stored hash, the comparison."""

from __future__ import annotations

import base64
import hashlib
import re

from pulse.provisioning import tokens

URLSAFE = re.compile(r"^[A-Za-z0-9_-]+$")


def raw_bytes(token: str) -> bytes:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


def test_provision_token_carries_256_random_bits():
    token = tokens.new_provision_token()
    assert URLSAFE.match(token) and len(token) == 43
    assert len(raw_bytes(token)) == 32


def test_activation_code_carries_144_random_bits():
    code = tokens.new_activation_code()
    assert URLSAFE.match(code) and len(code) == 24
    assert len(raw_bytes(code)) == 18


def test_tokens_do_not_repeat():
    assert len({tokens.new_provision_token() for _ in range(2000)}) == 2000
    assert len({tokens.new_activation_code() for _ in range(2000)}) == 2000


def test_hash_is_sha256_hex_of_the_utf8_text():
    assert tokens.hash_secret("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert tokens.hash_secret("ünï") == hashlib.sha256("ünï".encode()).hexdigest()


def test_secret_matches_only_its_own_hash():
    token = tokens.new_provision_token()
    stored = tokens.hash_secret(token)
    assert tokens.secret_matches(token, stored)
    assert not tokens.secret_matches(token[:-1], stored)
    assert not tokens.secret_matches(tokens.new_provision_token(), stored)
    assert not tokens.secret_matches(stored, stored)  # the hash itself is no credential


def test_no_stored_hash_matches_nothing():
    assert not tokens.secret_matches("", None)
    assert not tokens.secret_matches("", "")
    assert not tokens.secret_matches("x", None)


def test_comparison_is_constant_time(monkeypatch):
    calls = []

    def compare(a, b):
        calls.append((a, b))
        return a == b

    monkeypatch.setattr(tokens.hmac, "compare_digest", compare)
    assert tokens.secret_matches("t", tokens.hash_secret("t"))
    assert calls == [(tokens.hash_secret("t"), tokens.hash_secret("t"))]
