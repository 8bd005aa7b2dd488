"""Pure parts of pulse.db: the JSONB wire codec and finding migration files."""

from __future__ import annotations

import hashlib

import orjson

from pulse.db import migrate, pool


def test_jsonb_codec_round_trips_with_the_version_byte():
    value = {"temp_c": 21.5, "tags": ["a", "ü"], "nested": {"n": None, "ok": True}}
    encoded = pool._encode_jsonb(value)
    assert encoded[:1] == b"\x01" and orjson.loads(encoded[1:]) == value
    assert pool._decode_jsonb(encoded) == value


def test_available_migrations_are_sorted_and_only_numbered_sql(tmp_path):
    for name in ("010_b.sql", "002_a.sql", "001_x.txt", "notes.sql", "03_short.sql", "011_c.sql"):
        (tmp_path / name).write_text(f"-- {name}")
    found = migrate.available_migrations(tmp_path)
    assert [m.version for m in found] == ["002_a", "010_b", "011_c"]
    assert found[0].sql == "-- 002_a.sql"
    assert found[0].checksum == hashlib.sha256(b"-- 002_a.sql").hexdigest()


def test_shipped_migrations_have_unique_numbers():
    numbers = [m.version[:3] for m in migrate.available_migrations()]
    assert numbers and len(numbers) == len(set(numbers))
