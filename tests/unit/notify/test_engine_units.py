"""Pure parts of the notification engine: classification, backoff, route filters, cursor, signing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import random

import pytest
from pydantic import ValidationError

from pulse.notify import signing
from pulse.notify.channels import slack, webhook
from pulse.notify.channels.base import Reason, classify_http, redact_url
from pulse.notify.deliver import config_error, secrets_of
from pulse.notify.dispatch import Dispatcher, Route, idempotency_key, route_matches
from pulse.notify.events import AlertEvent, severity_label
from pulse.notify.worker import RetryPolicy
from tests.alert_events import make_event


def event(**overrides) -> AlertEvent:
    return make_event(**overrides)


def route(**overrides) -> Route:
    values = dict(
        route_id="r1",
        integration_id="i1",
        kind="webhook",
        min_severity=None,
        severities=[],
        alert_types=None,
        site_ids=None,
        device_prefixes=None,
        deliver_on=["OPEN"],
    )
    values.update(overrides)
    return Route(**values)


@pytest.mark.parametrize(
    ("status", "ok", "retryable", "reason"),
    [
        (200, True, False, Reason.OK),
        (204, True, False, Reason.OK),
        (301, False, False, Reason.CLIENT_ERROR),
        (400, False, False, Reason.CLIENT_ERROR),
        (401, False, False, Reason.AUTH_ERROR),
        (403, False, False, Reason.AUTH_ERROR),
        (404, False, False, Reason.CLIENT_ERROR),
        (429, False, True, Reason.RATE_LIMITED),
        (500, False, True, Reason.SERVER_ERROR),
        (503, False, True, Reason.SERVER_ERROR),
    ],
)
def test_classify_http(status, ok, retryable, reason):
    result = classify_http(status)
    assert (result.ok, result.retryable, result.reason, result.http_status) == (ok, retryable, reason, status)


def test_retry_after_parsed_and_urls_redacted():
    assert classify_http(429, retry_after="17").retry_after == 17.0
    assert classify_http(429, retry_after="Wed, 21 Oct 2015 07:28:00 GMT").retry_after is None
    assert "hooks.slack.com" not in classify_http(404, body="see https://hooks.slack.com/T/B/x").detail
    assert redact_url("https://hooks.slack.com/services/T/B/secret") == "https://hooks.slack.com"


def test_backoff_full_jitter_and_retry_after():
    policy = RetryPolicy(max_attempts=5, base_seconds=30, max_seconds=7200)
    rng = random.Random(1)
    for attempt, ceiling in [(1, 30), (2, 60), (3, 120), (4, 240), (12, 7200)]:
        delays = [policy.delay(attempt, None, rng) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling / 2  # spread over the whole window, not a fixed step
    assert policy.delay(1, 600, rng) == 600
    assert policy.delay(1, 10**6, rng) == 7200


def test_route_filters():
    assert route_matches(route(), event())
    assert not route_matches(route(), event(event="CLOSED"))
    assert route_matches(route(deliver_on=["CLOSED"]), event(event="CLOSED"))
    assert route_matches(route(severities=["CRITICAL"]), event(severity=5))
    assert not route_matches(route(severities=["CRITICAL"]), event(severity=3))
    assert route_matches(route(severities=["WARNING", "INFO"]), event(severity=3))
    assert not route_matches(route(min_severity=4), event(severity=3))
    assert not route_matches(route(alert_types=["NO_HEARTBEAT"]), event())
    assert not route_matches(route(site_ids=["site-2"]), event())
    assert route_matches(route(device_prefixes=["x-", "pump-"]), event())
    assert not route_matches(route(device_prefixes=["x-"]), event())
    assert [severity_label(s) for s in (1, 2, 3, 4, 5)] == ["INFO", "INFO", "WARNING", "WARNING", "CRITICAL"]


def test_idempotency_key_is_stable_per_event_and_route():
    key = idempotency_key(event(), route())
    assert key == idempotency_key(event(), route()) and len(key) == 64
    assert key != idempotency_key(event(event_id=8), route())
    assert key != idempotency_key(event(), route(route_id="r2"))


def test_cursor_advance_over_gaps():
    d = Dispatcher()
    none = frozenset()
    assert d.advance(10, [11, 12], none, none) == 12
    # 13 missing: the cursor stops and notes who was writing alert_events (A and B)
    assert d.advance(12, [14, 15], none, frozenset({"3/7", "4/9"})) == 12
    # B (a writer when the gap was seen) still writes: stay, whoever else writes now
    assert d.advance(12, [14, 15], frozenset({"4/9", "5/1"}), frozenset({"4/9", "5/1"})) == 12
    # both have ended (only newer writers remain) and 13 is still missing: rolled back, move on
    assert d.advance(12, [14, 15], frozenset({"5/1"}), frozenset({"5/1"})) == 15
    # a gap whose next visible id vanished (deleted) is noted afresh rather than skipped
    d2 = Dispatcher()
    assert d2.advance(0, [3], none, frozenset({"1/1"})) == 0
    assert d2.advance(0, [5], none, frozenset({"2/2"})) == 0
    assert d2.advance(0, [5], none, none) == 5


def test_standard_webhooks_signature():
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    headers = signing.sign_headers(secret, "msg_1", 1700000000, b'{"a":1}')
    mac = hmac.new(b"k" * 32, b'msg_1.1700000000.{"a":1}', hashlib.sha256).digest()
    assert headers["webhook-signature"] == "v1," + base64.b64encode(mac).decode()
    assert headers["X-Signature-SHA256"] == hmac.new(secret.encode(), b'{"a":1}', hashlib.sha256).hexdigest()


def test_channel_registry_and_configs():
    with pytest.raises(ValidationError) as exc:
        webhook.Config.model_validate({"url": "not a url", "secret": "hunter2-secret"})
    assert "hunter2" not in config_error(exc.value)
    config = slack.Config.model_validate({"url": "https://hooks.slack.com/services/T/B/tok"})
    assert "tok" not in repr(config)
    assert "services/T/B/tok" in secrets_of(config)
    rendered = slack.render(event(event="CLOSED"), config)
    assert rendered["text"].startswith("[CRITICAL] Resolved: THRESHOLD")
    assert webhook.render(event(), webhook.Config(url="https://x.example"))["alert_id"] == 42
