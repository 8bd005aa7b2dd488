"""PagerDuty and Teams channels: config rules, exact payloads per event, severity mapping, redaction."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from pulse.notify.channels import pagerduty, teams
from pulse.notify.deliver import config_error, secrets_of
from pulse.notify.events import AlertEvent
from tests.alert_events import make_event

KEY = "R0UT1NGKEY0123456789abcdefABCDEF"
TEAMS_URL = "https://acme.webhook.office.com/webhookb2/g@t/IncomingWebhook/s3cr3t/o"
CREATED = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def event(**overrides) -> AlertEvent:
    return make_event(
        **dict(
            created_at=CREATED,
        )
        | overrides
    )


def pd_expected(action: str, status: str, actor: str | None = None) -> dict:
    return {
        "routing_key": KEY,
        "event_action": action,
        "dedup_key": "alert-42",
        "payload": {
            "summary": "[CRITICAL] THRESHOLD on pump-1: hot",
            "source": "pump-1",
            "severity": "critical",
            "timestamp": "2026-01-01T12:00:00+00:00",
            "component": "THRESHOLD",
            "group": "site-1",
            "custom_details": {
                "tenant_id": "acme",
                "alert_id": 42,
                "site_id": "site-1",
                "device_id": "pump-1",
                "alert_type": "THRESHOLD",
                "severity": 5,
                "status": status,
                "summary": "hot",
                "actor": actor,
                "details": {},
            },
        },
    }


@pytest.mark.parametrize(
    ("ev", "status", "action", "actor"),
    [
        ("OPEN", "OPEN", "trigger", None),
        ("ACKNOWLEDGED", "ACKNOWLEDGED", "acknowledge", "ann"),
        ("CLOSED", "CLOSED", "resolve", None),
    ],
)
def test_pagerduty_exact_payloads(ev, status, action, actor):
    config = pagerduty.Config.model_validate({"routing_key": KEY})
    rendered = pagerduty.render(event(event=ev, status=status, actor=actor), config)
    assert rendered == pd_expected(action, status, actor)


@pytest.mark.parametrize(
    ("severity", "expected"),
    [(5, "critical"), (4, "error"), (3, "warning"), (2, "info"), (1, "info"), (0, "info")],
)
def test_pagerduty_severity_mapping(severity, expected):
    config = pagerduty.Config(routing_key=KEY)
    assert pagerduty.render(event(severity=severity), config)["payload"]["severity"] == expected


def test_pagerduty_summary_truncated_and_config():
    config = pagerduty.Config(routing_key=KEY)
    assert str(config.url) == "https://events.pagerduty.com/v2/enqueue"
    summary = pagerduty.render(event(summary="x" * 5000), config)["payload"]["summary"]
    assert len(summary) == 1024
    assert KEY not in repr(config) and KEY in secrets_of(config)
    with pytest.raises(ValidationError):
        pagerduty.Config.model_validate({"routing_key": KEY, "surprise": 1})
    with pytest.raises(ValidationError):
        pagerduty.Config.model_validate({"url": "https://events.pagerduty.com/v2/enqueue"})
    with pytest.raises(ValidationError) as exc:
        pagerduty.Config.model_validate({"routing_key": KEY, "url": "not a url"})
    assert KEY not in config_error(exc.value)


@pytest.mark.parametrize(
    ("ev", "status", "verb", "colour"),
    [
        ("OPEN", "OPEN", "Alert", "d32f2f"),
        ("ACKNOWLEDGED", "ACKNOWLEDGED", "Acknowledged", "d32f2f"),
        ("CLOSED", "CLOSED", "Resolved", "2e7d32"),
    ],
)
def test_teams_exact_payloads(ev, status, verb, colour):
    config = teams.Config.model_validate({"url": TEAMS_URL})
    title = f"[CRITICAL] {verb}: THRESHOLD on pump-1"
    assert teams.render(event(event=ev, status=status), config) == {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": title,
        "themeColor": colour,
        "title": title,
        "sections": [
            {
                "activityTitle": "hot",
                "facts": [
                    {"name": "Device", "value": "pump-1"},
                    {"name": "Site", "value": "site-1"},
                    {"name": "Severity", "value": "5 (CRITICAL)"},
                    {"name": "Status", "value": status},
                    {"name": "Alert type", "value": "THRESHOLD"},
                ],
                "text": "Pulse alert 42",
            }
        ],
    }


@pytest.mark.parametrize(("severity", "colour"), [(5, "d32f2f"), (4, "f9a825"), (3, "f9a825"), (2, "1976d2")])
def test_teams_theme_colour_by_severity(severity, colour):
    config = teams.Config(url=TEAMS_URL)
    assert teams.render(event(severity=severity), config)["themeColor"] == colour


def test_teams_config_hides_url():
    config = teams.Config.model_validate({"url": TEAMS_URL})
    assert "s3cr3t" not in repr(config)
    assert TEAMS_URL in secrets_of(config)
    with pytest.raises(ValidationError):
        teams.Config.model_validate({"url": TEAMS_URL, "webhook_url": TEAMS_URL})
    with pytest.raises(ValidationError):
        teams.Config.model_validate({})


def test_teams_error_detail_masks_url_path_segments():
    detail = teams.scrub_path("bad hook s3cr3t-and-more IncomingWebhook x", TEAMS_URL + "/s3cr3t-and-more")
    assert (
        "s3cr3t-and-more" not in detail and "IncomingWebhook" not in detail and detail.startswith("bad hook")
    )
