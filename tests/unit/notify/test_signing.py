"""The receiver recipes README.md gives for verifying webhook signatures, for both secret forms."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from pulse.notify import signing

BODY = b'{"alert_id": 1}'


def readme_verify(key: bytes, headers: dict[str, str], body: bytes) -> bool:
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(sig.split(",", 1)[1] == expected for sig in headers["webhook-signature"].split())


@pytest.mark.parametrize(
    ("secret", "receiver_key"),
    [
        # whsec_: the libraries decode the base64 themselves (`Webhook("whsec_…")`)
        ("whsec_" + base64.b64encode(b"k" * 32).decode(), b"k" * 32),
        # any other string: the key is its UTF-8 bytes (`Webhook(secret.encode())`)
        ("plain-shared-secret-ü", "plain-shared-secret-ü".encode()),
    ],
)
def test_signatures_verify_as_the_readme_says(secret, receiver_key):
    headers = signing.sign_headers(secret, "msg-1", 1_700_000_000, BODY)
    assert readme_verify(receiver_key, headers, BODY)
    assert not readme_verify(receiver_key, headers, BODY + b" ")
    legacy = hmac.new(secret.encode(), BODY, hashlib.sha256).hexdigest()
    assert headers["X-Signature-SHA256"] == legacy
