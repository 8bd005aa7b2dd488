"""The secrets key ring: first key encrypts, all decrypt; `pulse up` generates one into the data dir."""

from __future__ import annotations

import pytest

from pulse import crypto
from pulse.config import SettingsError, load_settings
from pulse.runtime import _secrets_key


def test_first_key_encrypts_all_decrypt_and_rotation_moves_to_the_first():
    a, b = crypto.generate_key(), crypto.generate_key()
    sealed = crypto.Keyring.parse(a).seal("s3cret")
    assert "s3cret" not in str(sealed) and crypto.is_sealed(sealed)
    both = crypto.Keyring.parse(f"{b}, {a}")
    assert crypto.open_value(sealed, both) == "s3cret"
    rotated = crypto.reseal(sealed, both)
    assert crypto.open_value(rotated, crypto.Keyring.parse(b)) == "s3cret"
    with pytest.raises(crypto.SecretsKeyError):
        crypto.open_value(rotated, crypto.Keyring.parse(a))
    with pytest.raises(crypto.SecretsKeyError, match="PULSE_SECRETS_KEY"):
        crypto.open_value(sealed, None)
    assert crypto.open_value("legacy plaintext", None) == "legacy plaintext"
    assert crypto.reseal("legacy", both) != "legacy"


def test_a_bad_key_is_refused_at_start_without_echoing_it(tmp_path):
    with pytest.raises(SettingsError) as caught:
        load_settings(secrets_key="not-a-fernet-key", data_dir=tmp_path)
    assert "PULSE_SECRETS_KEY" in str(caught.value) and "not-a-fernet-key" not in str(caught.value)


def test_zero_setup_generates_the_key_once_and_commands_read_it(tmp_path):
    key = _secrets_key(tmp_path)
    assert _secrets_key(tmp_path) == key
    assert (tmp_path / "secrets.key").stat().st_mode & 0o777 == 0o600
    settings = load_settings(data_dir=tmp_path, secrets_key="")
    ring = crypto.Keyring.from_settings(settings)
    assert ring is not None and crypto.open_value(crypto.Keyring.parse(key).seal("x"), ring) == "x"
    assert crypto.Keyring.from_settings(load_settings(data_dir=tmp_path / "empty", secrets_key="")) is None
