"""Webhook bodies from tenant templates, against a local receiver: JSON or {"message": …}, signatures over
the exact bytes sent, refused templates at save time and permanent failures at send time."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from pulse.notify import configs, signing
from pulse.notify.channels import webhook
from pulse.notify.channels.base import Reason, SendContext
from pulse.notify.events import AlertEvent
from tests.alert_events import make_event
from tests.integration.notify.helpers import Receiver

SECRET = "whsec_" + "c2VjcmV0LWtleS1mb3ItdGVzdHM="
JSON_TEMPLATE = """{
  "text": {{ headline|tojson }},
  "device": {{ device_id|tojson }},
  "severity": {{ severity }},
  "temp": {{ details.temp_c|tojson }},
  "tags": [{% for key in details|sort %}{{ key|tojson }}{{ "," if not loop.last }}{% endfor %}]
}"""


def event(**overrides) -> AlertEvent:
    return make_event(
        **dict(
            device_id='pump "1"',
            summary="temp_c above 30",
            details={"temp_c": 31.5, "zone": "north"},
        )
        | overrides
    )


def config(receiver: Receiver, template: str | None, **extra) -> webhook.Config:
    return webhook.Config.model_validate({"url": receiver.url, "body_template": template, **extra})


async def deliver(http, loopback, cfg: webhook.Config, alert: AlertEvent | None = None):
    ctx = SendContext(loopback, "pulse-job-9", 1_767_225_600)
    return await webhook.send(alert or event(), cfg, http, ctx)


async def test_json_template_is_sent_as_that_json(http, loopback):
    async with Receiver() as receiver:
        result = await deliver(http, loopback, config(receiver, JSON_TEMPLATE))
    assert result.ok
    [request] = receiver.requests
    assert request.headers["content-type"] == "application/json"
    assert request.json() == {
        "text": '[CRITICAL] Alert: THRESHOLD on pump "1"',
        "device": 'pump "1"',
        "severity": 5,
        "temp": 31.5,
        "tags": ["temp_c", "zone"],
    }


async def test_json_array_template_is_sent_as_an_array(http, loopback):
    async with Receiver() as receiver:
        assert (await deliver(http, loopback, config(receiver, "[{{ alert_id }}, {{ site_id|tojson }}]"))).ok
    assert receiver.requests[0].json() == [42, "site-1"]


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{ alert_type }} on {{ device_id }} ({{ severity_label }})", 'THRESHOLD on pump "1" (CRITICAL)'),
        ("{{ severity }}", "5"),  # valid JSON, but not an object or array
        ('"{{ summary }}"', '"temp_c above 30"'),
        ("{ not json: {{ alert_id }} }", "{ not json: 42 }"),
    ],
)
async def test_other_text_is_wrapped_as_message(http, loopback, template, message):
    async with Receiver() as receiver:
        cfg = config(receiver, template)
        assert (await deliver(http, loopback, cfg)).ok
    assert receiver.requests[0].json() == {"message": message}
    assert webhook.render(event(), cfg) == {"message": message}  # the preview is what is sent


async def test_without_template_the_event_is_sent(http, loopback):
    async with Receiver() as receiver:
        await deliver(http, loopback, config(receiver, None))
    assert receiver.requests[0].json() == event().to_json()


@pytest.mark.parametrize("template", [JSON_TEMPLATE, "plain {{ summary }}"])
async def test_signatures_cover_the_exact_body(http, loopback, template):
    async with Receiver() as receiver:
        assert (await deliver(http, loopback, config(receiver, template, secret=SECRET))).ok
    [request] = receiver.requests
    headers = request.headers
    assert headers["webhook-id"] == "pulse-job-9"
    assert headers["webhook-timestamp"] == "1767225600"
    expected = signing.standard_signature(SECRET, "pulse-job-9", 1_767_225_600, request.body)
    assert headers["webhook-signature"] == expected
    assert headers["x-signature-sha256"] == signing.legacy_signature(SECRET, request.body)


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{% for %}", "line 1"),
        ("{{ nope }}", "unknown variable: nope"),
        ("{{ summary|center(80) }}", "No filter named 'center'"),
        (
            "{% for a in details %}{% for b in details %}{% for c in details %}{% endfor %}{% endfor %}{% endfor %}",
            "nest",
        ),
        ("x" * 10_001, None),
    ],
)
def test_bad_template_is_refused_by_config_validation(template, message):
    with pytest.raises(ValidationError) as caught:
        webhook.Config.model_validate({"url": "https://hooks.example.com/x", "body_template": template})
    [error] = caught.value.errors()
    assert error["loc"] == ("body_template",)
    if message:
        assert message in error["msg"]
        # the API's 422 names the field and says why
        with pytest.raises(configs.ConfigInvalid, match=f"body_template: .*{message}"):
            configs.parse("webhook", {"url": "https://hooks.example.com/x", "body_template": template})


async def test_failing_render_is_a_permanent_config_error(http, loopback):
    templates_failing_at_send = [
        "{{ 'a' * 10**9 }}",
        "{{ details.humidity > 50 }}",  # this alert has no humidity: comparing undefined fails
        "{% for i in range(100) %}{% for j in range(100) %}{{ 'x' * 100 }}{% endfor %}{% endfor %}",
    ]
    async with Receiver() as receiver:
        for template in templates_failing_at_send:
            result = await deliver(http, loopback, config(receiver, template, secret=SECRET))
            assert (result.ok, result.retryable, result.reason) == (False, False, Reason.CONFIG_INVALID)
            assert result.detail.startswith("template_error: ")
            assert SECRET not in result.detail
    assert receiver.requests == []
