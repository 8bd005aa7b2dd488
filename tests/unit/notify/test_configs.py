"""Channel configs at the API edge: validation names fields, secrets are masked and survive the mask."""

from __future__ import annotations

import pytest

from pulse.notify import configs, ssrf

SECRET = "whsec_c2VjcmV0LXNpZ25pbmcta2V5LTEyMzQ1Ng=="


def test_secret_fields_come_from_the_channel_models():
    assert configs.secret_fields("webhook") == {"secret"}
    assert configs.secret_fields("slack") == {"url"}
    assert configs.secret_fields("pagerduty") == {"routing_key"}


def test_masked_hides_secrets_and_header_values():
    stored = {"url": "https://h.example/x", "secret": SECRET, "headers": {"Authorization": "Bearer abc"}}
    shown = configs.masked("webhook", stored)
    assert shown == {
        "url": "https://h.example/x",
        "secret": configs.MASK,
        "headers": {"Authorization": configs.MASK},
    }
    assert SECRET not in str(shown) and "Bearer" not in str(shown)


def test_mask_sent_back_keeps_the_stored_secret():
    stored = {"url": "https://h.example/x", "secret": SECRET, "headers": {"A": "1", "B": "2"}}
    incoming = {
        "url": "https://h.example/y",
        "secret": configs.MASK,
        "headers": {"A": configs.MASK, "B": "new", "C": configs.MASK},
    }
    merged = configs.unmask("webhook", incoming, stored)
    assert merged == {"url": "https://h.example/y", "secret": SECRET, "headers": {"A": "1", "B": "new"}}
    # a mask for a secret that was never stored is dropped, so validation names the field
    assert "routing_key" not in configs.unmask("pagerduty", {"routing_key": configs.MASK}, {})


def test_stored_keeps_real_secrets():
    config = configs.parse("pagerduty", {"routing_key": "R0UTING-KEY"})
    assert configs.stored(config)["routing_key"] == "R0UTING-KEY"


@pytest.mark.parametrize(
    ("kind", "raw", "field"),
    [
        ("webhook", {}, "url"),
        ("webhook", {"url": "not a url"}, "url"),
        ("pagerduty", {"routing_key": ""}, "routing_key"),
        ("slack", {"url": "https://hooks.slack.com/x", "extra": 1}, "extra"),
    ],
)
def test_invalid_configs_name_the_field_not_the_value(kind, raw, field):
    with pytest.raises(configs.ConfigInvalid) as caught:
        configs.parse(kind, raw)
    assert field in caught.value.fields and field in str(caught.value)
    assert "not a url" not in str(caught.value)


def test_config_must_be_an_object():
    with pytest.raises(configs.ConfigInvalid):
        configs.parse("webhook", ["url"])


async def test_validate_refuses_targets():
    with pytest.raises(configs.TargetRefused, match="link_local"):
        await configs.validate("webhook", {"url": "http://169.254.169.254/x"}, ssrf.Policy())
