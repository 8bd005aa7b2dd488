import pytest

from pulse.ingest.envelope import TOPIC, EnvelopeError, parse_envelope


def parse(raw: bytes):
    return parse_envelope(raw, max_keys=8, max_depth=3)


def test_valid_envelope() -> None:
    env = parse(
        b'{"site_id": "s1", "ts": "2026-01-01T00:00:00", "seq": 5, "metrics": {"t": 1.5, "ok": true}, "lat": 1, "lng": 2}'
    )
    assert env.site_id == "s1" and env.seq == 5
    assert env.ts is not None and env.ts.tzinfo is not None  # naive means UTC
    assert env.metrics == {"t": 1.5, "ok": True}
    assert env.location == (1.0, 2.0)


@pytest.mark.parametrize(
    ("raw", "json_error"),
    [
        (b"", True),
        (b"\xff\xfe", True),
        (b"[1]", True),
        (b"null", True),
        (b"[" * 3000, True),
        (b'{"metrics": {"t": NaN}}', False),
        (b'{"metrics": {"t": 1e999}}', False),
        (b'{"metrics": {"a": {"b": {"c": {"d": 1}}}}}', False),  # deeper than 3
        (b'{"metrics": {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6, "g": 7, "h": 8, "i": 9}}', False),
        (b'{"metrics": {"l": [1, 2, 3, 4, 5, 6, 7, 8]}}', False),  # list items count against the budget
        (b'{"metrics": {"s": "a\\u0000b"}}', False),
        (b'{"site_id": "a\\u0000"}', False),
        (b'{"ts": "yesterday"}', False),
        (b'{"seq": 1.5}', False),
        (b'{"lat": 91, "lng": 0}', False),
    ],
)
def test_rejections(raw: bytes, json_error: bool) -> None:
    with pytest.raises(EnvelopeError) as excinfo:
        parse(raw)
    assert excinfo.value.json_error is json_error


@pytest.mark.parametrize(
    ("topic", "ok"),
    [
        ("tenant/acme/device/dev-1/telemetry", True),
        ("tenant/acme/device/sensor.7:a@b/heartbeat", True),
        ("tenant/acme/device/dev 1/telemetry", False),
        ("tenant/acme/device/dev-1", False),
        ("tenant/acme/device/dev-1/telemetry/extra", False),
        ("tenant//device/dev-1/telemetry", False),
        ("tenant/acme/devices/dev-1/telemetry", False),
        ("tenant/acme/device/dév/telemetry", False),
        ("tenant/acme/device/dev-1/Telemetry", False),
    ],
)
def test_topic(topic: str, ok: bool) -> None:
    assert (TOPIC.match(topic) is not None) is ok
