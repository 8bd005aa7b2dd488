"""Secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) with a key ring.

`PULSE_SECRETS_KEY` is a comma-separated list of Fernet keys: the first encrypts, every one decrypts
(`MultiFernet`), so a key is rotated by putting a new one first, re-encrypting what is stored
(`pulse admin rotate-secrets-key`) and then dropping the old one. Unset, `pulse up` generates one into
`<data dir>/secrets.key`, which every command on that data dir reads when the variable is unset.

A sealed value is stored as `{"$enc": "<fernet token>"}` inside JSON, so the fields around it stay
readable and queryable; a plain string is a value stored before encryption (or without a key) and is
still read as it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

ENC = "$enc"
KEY_FILE = "secrets.key"


class SecretsKeyError(Exception):
    """A sealed value cannot be opened (no key, or none of the keys made it); never carries the value."""


def generate_key() -> str:
    return Fernet.generate_key().decode()


def key_file(data_dir: Path) -> Path:
    return data_dir / KEY_FILE


class Keyring:
    """The Fernet keys: the first encrypts, all decrypt."""

    def __init__(self, keys: list[str]):
        if not keys:
            raise ValueError("no key")
        try:
            self._fernets = [Fernet(key.encode()) for key in keys]
        except ValueError:
            raise ValueError(
                "each key must be a Fernet key (32 url-safe base64-encoded bytes; `pulse admin rotate-secrets-key --new-key` prints one)"
            ) from None
        self._multi = MultiFernet(self._fernets)
        self.size = len(keys)

    @classmethod
    def parse(cls, text: str) -> Keyring:
        return cls([part.strip() for part in text.split(",") if part.strip()])

    @classmethod
    def from_settings(cls, settings: Any) -> Keyring | None:
        """PULSE_SECRETS_KEY, else the key file `pulse up` generated in the data dir, else None."""
        if settings.secrets_key is not None:
            return cls.parse(settings.secrets_key.get_secret_value())
        path = key_file(settings.data_dir)
        if path.exists():
            return cls.parse(path.read_text())
        return None

    def encrypt(self, data: bytes) -> str:
        return self._multi.encrypt(data).decode()

    def decrypt(self, token: str) -> bytes:
        try:
            return self._multi.decrypt(token.encode())
        except (InvalidToken, TypeError):
            raise SecretsKeyError("a stored secret does not decrypt with any PULSE_SECRETS_KEY key") from None

    def rotate(self, token: str) -> str:
        """The token re-encrypted with the first key."""
        try:
            return self._multi.rotate(token.encode()).decode()
        except (InvalidToken, TypeError):
            raise SecretsKeyError("a stored secret does not decrypt with any PULSE_SECRETS_KEY key") from None

    def seal(self, value: str) -> dict[str, str]:
        return {ENC: self.encrypt(value.encode())}


def is_sealed(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {ENC} and isinstance(value[ENC], str)


def open_value(value: Any, keyring: Keyring | None) -> Any:
    """A sealed value's text; anything else as it is (a legacy plaintext secret)."""
    if not is_sealed(value):
        return value
    if keyring is None:
        raise SecretsKeyError("a stored secret is encrypted but PULSE_SECRETS_KEY is not set")
    return keyring.decrypt(value[ENC]).decode()


def reseal(value: Any, keyring: Keyring) -> Any:
    """A secret as the first key seals it: a sealed one re-encrypted, a plaintext one encrypted."""
    if is_sealed(value):
        return {ENC: keyring.rotate(value[ENC])}
    if isinstance(value, str):
        return keyring.seal(value)
    return value
