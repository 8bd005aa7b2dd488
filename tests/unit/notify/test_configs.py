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


def test_mask_sent_back_keeps_the_stored_secret_for_the_same_destination():
    stored = {"url": "https://h.example/x", "secret": SECRET, "headers": {"A": "1", "B": "2"}}
    incoming = {
        "url": "https://H.example/x",  # the same place, spelled differently
        "secret": configs.MASK,
        "headers": {"A": configs.MASK, "B": "new", "C": configs.MASK},
    }
    merged = configs.unmask("webhook", incoming, stored)
    assert merged == {"url": "https://H.example/x", "secret": SECRET, "headers": {"A": "1", "B": "new"}}
    # a mask for a secret that was never stored is dropped, so validation names the field
    assert "routing_key" not in configs.unmask("pagerduty", {"routing_key": configs.MASK}, {})


@pytest.mark.parametrize(
    ("kind", "stored", "incoming", "fields"),
    [
        (
            "webhook",
            {"url": "https://h.example/x", "secret": SECRET, "headers": {"Authorization": "Bearer t"}},
            {
                "url": "https://h.example/y",
                "secret": configs.MASK,
                "headers": {"Authorization": configs.MASK},
            },
            ["secret", "headers.Authorization"],
        ),
        (
            "webhook",
            {"url": "https://h.example/x", "headers": {"Authorization": "Bearer t"}},
            {"url": "https://evil.example/x", "headers": {"Authorization": configs.MASK}},
            ["headers.Authorization"],
        ),
        (
            "email",
            {
                **(
                    EMAIL := {
                        "smtp_host": "smtp.example",
                        "from_address": "a@b.example",
                        "to": ["c@d.example"],
                    }
                ),
                "smtp_user": "u",
                "smtp_password": "pw",
            },
            {**EMAIL, "smtp_host": "smtp.evil.example", "smtp_user": "u", "smtp_password": configs.MASK},
            ["smtp_password"],
        ),
        (
            "email",
            {**EMAIL, "smtp_user": "u", "smtp_password": "pw"},
            {**EMAIL, "smtp_port": 2525, "smtp_user": "u", "smtp_password": configs.MASK},
            ["smtp_password"],
        ),
        (
            "pagerduty",
            {"routing_key": "RK"},
            {"routing_key": configs.MASK, "url": "https://evil.example/"},
            ["routing_key"],
        ),
        (
            "snmp",
            {"host": "nms.example", "community": "c0mm"},
            {"host": "nms2.example", "community": configs.MASK},
            ["community"],
        ),
        (
            "mqtt",
            {"password": "pw", "username": "u"},
            {"password": configs.MASK, "username": "u", "broker_url": "mqtt://evil.example:1883"},
            ["password"],
        ),
    ],
)
def test_mask_for_a_new_destination_is_refused_naming_the_field(kind, stored, incoming, fields):
    with pytest.raises(configs.ConfigInvalid) as caught:
        configs.unmask(kind, incoming, stored)
    assert caught.value.fields == sorted(f for f in fields if "." not in f) + [f for f in fields if "." in f]
    for field in fields:
        assert field in str(caught.value)
    assert "pw" not in str(caught.value) and SECRET not in str(caught.value)


def test_every_channel_declares_its_destination():
    from pulse.notify.channels import CHANNELS, conforming

    assert {kind: m.DESTINATION_FIELDS for kind, m in CHANNELS.items()} == {
        "webhook": ("url",),
        "slack": ("url",),
        "teams": ("url",),
        "pagerduty": ("url",),
        "email": ("smtp_host", "smtp_port"),
        "snmp": ("host", "port"),
        "mqtt": ("broker_url",),
    }
    broken = type(CHANNELS["slack"])("broken")
    for name in ("kind", "Config", "check", "render", "send"):
        setattr(broken, name, getattr(CHANNELS["slack"], name))
    with pytest.raises(TypeError, match="DESTINATION_FIELDS"):
        conforming(broken)
    broken.DESTINATION_FIELDS = ("nowhere",)
    with pytest.raises(TypeError, match="DESTINATION_FIELDS"):
        conforming(broken)


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
