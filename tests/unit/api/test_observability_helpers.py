"""Pure pieces of the observability APIs: secret masking in audit rows, payload scrubbing in the
quarantine viewers, counter rates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pulse.api.audit import MASK, mask_secrets
from pulse.api.queries.quarantine import EXCERPT_CHARS, excerpt
from pulse.api.queries.system import Point, average_rate, rates


def test_mask_secrets_hides_secret_fields_at_any_depth() -> None:
    config = {
        "name": "ops",
        "config": {"webhook_url": "https://hooks.slack.com/T/B/x", "secret": "s3", "channel": "#ops"},
        "headers": [{"Authorization": "Bearer t"}],
        "smtp_password": "",
    }
    masked = mask_secrets(config)
    assert masked["config"] == {"webhook_url": MASK, "secret": MASK, "channel": "#ops"}
    assert masked["headers"] == [{"Authorization": MASK}]
    assert masked["name"] == "ops" and masked["smtp_password"] == ""


def test_quarantine_excerpt_scrubs_tokens_and_is_bounded() -> None:
    text = excerpt({"provision_token": "abc", "raw": '{"token": "xyz", "password":"pw"}', "n": 1})
    assert "abc" not in text and "xyz" not in text and 'pw"' not in text and '"n":1' in text
    assert len(excerpt({"raw": "x" * 5000})) == EXCERPT_CHARS + 1


def test_rates_treat_a_drop_as_a_counter_reset() -> None:
    t = datetime(2026, 1, 1, tzinfo=UTC)
    points = [Point(time=t + timedelta(seconds=10 * i), value=v) for i, v in enumerate([0, 100, 300, 50])]
    assert [p.value for p in rates(points)] == [10, 20, 5]
    assert average_rate(points) == (100 + 200 + 50) / 30
    assert average_rate(points[:1]) is None
