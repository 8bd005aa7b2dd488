"""Channel configs as the APIs store and show them: validated by the channel, targets checked, secrets
masked on the way out and kept when the mask comes back.

Integrations (`integrations.config_json`) and notification channels (`notification_channels.config`)
share these shapes: one channel module, one config per kind, whichever table holds it.

Secrets are the config fields typed `SecretStr` (a webhook's signing secret, Slack and Teams webhook
URLs, PagerDuty routing keys, SMTP passwords, SNMP communities and v3 keys, MQTT passwords) and the
values of custom HTTP headers (they usually carry tokens). Responses show them as `MASK`; an update
that sends `MASK` back for one of them keeps the stored value, so a form that round-trips a config
cannot overwrite a secret with the mask — but only while the config's destination (the channel's
`DESTINATION_FIELDS`: where its secrets are sent) is unchanged. A form that changes a webhook's URL or
an SMTP host and sends the mask back would otherwise send the hidden secret to the new place, so that
update is a 422 naming the masked fields: the caller must type the secrets again.

At rest the same secrets are sealed (`seal`): each becomes `{"$enc": "<fernet token>"}` with the
PULSE_SECRETS_KEY key ring (`pulse.crypto`), in place inside the JSON config, so the other fields stay
readable and queryable. `unseal` opens them where a config is used (the send path, the unmask of an
update); a plaintext secret stored before encryption (or without a key) is read as it is.
"""

from __future__ import annotations

import types
import typing
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, SecretStr, StringConstraints, ValidationError

from pulse import crypto
from pulse.notify import ssrf
from pulse.notify.channels import CHANNELS


def _known_kind(value: str) -> str:
    if value not in CHANNELS:
        raise ValueError(f"unknown channel type; one of: {', '.join(sorted(CHANNELS))}")
    return value


def _kind_schema(schema: dict[str, Any]) -> None:
    # Read when the OpenAPI document is built, so kinds registered after this import are listed too.
    schema["enum"] = sorted(CHANNELS)


ChannelKind = Annotated[
    str,
    StringConstraints(min_length=1, max_length=32),
    AfterValidator(_known_kind),
    Field(
        description="A channel kind of the registry (webhook, slack, pagerduty, teams, …).",
        json_schema_extra=_kind_schema,
    ),
]


MASK = "********"
MAX_CONFIG_KEYS = 50


class ConfigInvalid(ValueError):
    """The config does not validate; `fields` names what is wrong (never the values)."""

    def __init__(self, kind: str, fields: list[str], detail: str = ""):
        self.fields = fields
        super().__init__(detail or f"invalid {kind} config: {', '.join(fields)}")


class TargetRefused(ValueError):
    """A target (URL or host) fails the outbound-safety check; the message says why."""


def _is_secret(annotation: Any) -> bool:
    if annotation is SecretStr:
        return True
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return any(_is_secret(arg) for arg in typing.get_args(annotation))
    return any(_is_secret(arg) for arg in typing.get_args(annotation) if arg is not type(None))


def secret_fields(kind: str) -> frozenset[str]:
    model = CHANNELS[kind].Config
    return frozenset(name for name, info in model.model_fields.items() if _is_secret(info.annotation))


def parse(kind: str, raw: Any) -> BaseModel:
    """Validate a config with the channel's model; errors name fields, never echo values."""
    if not isinstance(raw, dict):
        raise ConfigInvalid(kind, ["config"], "config must be a JSON object")
    if len(raw) > MAX_CONFIG_KEYS:
        raise ConfigInvalid(kind, ["config"], "config has too many keys")
    try:
        return CHANNELS[kind].Config.model_validate(raw)
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in e["loc"]) or "config" for e in exc.errors()})
        messages = sorted({_message(e) for e in exc.errors()})
        raise ConfigInvalid(kind, fields, f"invalid {kind} config: {'; '.join(messages)}"[:1000]) from None


def _message(error: dict) -> str:
    """`field: message` for pydantic errors whose message carries no input (ours and constraint ones)."""
    where = ".".join(str(p) for p in error["loc"]) or "config"
    if error["type"] == "value_error":  # our validators' own messages: safe to show
        return f"{where}: {error['msg'].removeprefix('Value error, ')}"
    return f"{where}: {error['type']}"


async def validate(kind: str, raw: Any, policy: ssrf.Policy) -> BaseModel:
    """Parse, then check every target the config sends to (at save time; again at send time)."""
    config = parse(kind, raw)
    try:
        await CHANNELS[kind].check(config, policy)
    except ssrf.Blocked as exc:
        raise TargetRefused(str(exc)) from None
    return config


def stored(config: BaseModel) -> dict[str, Any]:
    """The JSON to store: real secret values (model_dump would mask SecretStr)."""
    data = config.model_dump(mode="json", exclude_none=True)
    for name, value in config:
        if isinstance(value, SecretStr):
            data[name] = value.get_secret_value()
    return data


def masked(kind: str, data: dict[str, Any] | None) -> dict[str, Any]:
    """A stored config as an API shows it."""
    out = dict(data or {})
    for name in secret_fields(kind):
        if out.get(name):
            out[name] = MASK
    if isinstance(out.get("headers"), dict):
        out["headers"] = dict.fromkeys(out["headers"], MASK)
    return out


def unmask(kind: str, incoming: dict[str, Any], current: dict[str, Any] | None) -> dict[str, Any]:
    """Put stored secrets back where an update sent the mask (and drop a masked secret never stored,
    so validation names the field instead of saving the mask as a secret). A kept secret needs the
    same destination as before: else ConfigInvalid naming the masked fields."""
    current = current or {}
    out = dict(incoming)
    kept: list[str] = []
    for name in sorted(secret_fields(kind)):
        if out.get(name) == MASK:
            if current.get(name):
                out[name] = current[name]
                kept.append(name)
            else:
                out.pop(name)
    headers, old_headers = out.get("headers"), current.get("headers") or {}
    if isinstance(headers, dict):
        kept += [f"headers.{k}" for k, v in headers.items() if v == MASK and k in old_headers]
        out["headers"] = {
            k: old_headers[k] if v == MASK and k in old_headers else v
            for k, v in headers.items()
            if v != MASK or k in old_headers
        }
    if kept:
        changed = changed_destination(kind, out, current)
        if changed:
            raise ConfigInvalid(
                kind,
                kept,
                f"{', '.join(changed)} changed: a masked secret is kept only for the same destination;"
                f" send the real value of {', '.join(kept)}",
            )
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    return None if value is None else str(value)


def destination(kind: str, config: BaseModel) -> dict[str, Any]:
    """Where a validated config sends its secrets: the channel's `DESTINATION_FIELDS` and values."""
    return {name: _plain(getattr(config, name)) for name in CHANNELS[kind].DESTINATION_FIELDS}


def changed_destination(kind: str, new: dict[str, Any], old: dict[str, Any]) -> list[str]:
    """The destination fields that differ between two configs (as validated, so `H.example` and
    `h.example/` are the same place). A new config that does not validate is left to validation,
    which refuses it anyway."""
    model = CHANNELS[kind].Config
    try:
        after = destination(kind, model.model_validate(new))
    except ValidationError:
        return []
    try:
        before = destination(kind, model.model_validate(old))
    except ValidationError:  # a stored config that no longer validates: compare what it says
        before = {name: _plain(old.get(name)) for name in after}
    return [name for name in after if after[name] != before[name]]


def _map_secrets(kind: str, data: dict[str, Any] | None, change: Any) -> dict[str, Any]:
    """`data` with `change` applied to every secret value: the `SecretStr` fields and header values."""
    out = dict(data or {})
    for name in secret_fields(kind):
        if out.get(name) is not None:
            out[name] = change(out[name])
    if isinstance(out.get("headers"), dict):
        out["headers"] = {k: change(v) for k, v in out["headers"].items()}
    return out


def seal(kind: str, data: dict[str, Any], keyring: crypto.Keyring | None) -> dict[str, Any]:
    """A config to store: its plaintext secrets encrypted (unchanged without a key ring)."""
    if keyring is None:
        return data
    return _map_secrets(kind, data, lambda v: keyring.seal(v) if isinstance(v, str) else v)


def unseal(kind: str, data: dict[str, Any] | None, keyring: crypto.Keyring | None) -> dict[str, Any]:
    """A stored config with its secrets in plaintext (raises crypto.SecretsKeyError)."""
    return _map_secrets(kind, data, lambda v: crypto.open_value(v, keyring))


def reseal(kind: str, data: dict[str, Any] | None, keyring: crypto.Keyring) -> dict[str, Any]:
    """A stored config with every secret encrypted with the key ring's first key."""
    return _map_secrets(kind, data, lambda v: crypto.reseal(v, keyring))
