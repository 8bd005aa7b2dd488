"""Channel registry: `CHANNELS[kind]` is a module with `kind`, `Config` (its validated settings),
`check` (save-time outbound-safety check of its targets), `render` and `send`; optionally
`rate_limit(config) -> (target, per_second, burst)` for providers that limit a target's rate.

A module that breaks the contract fails at import, not at the first delivery."""

from __future__ import annotations

from types import ModuleType

from pydantic import BaseModel

from pulse.notify.channels import email, mqtt, pagerduty, slack, snmp, teams, webhook


def _check(module: ModuleType) -> ModuleType:
    for name in ("kind", "Config", "check", "render", "send"):
        if not hasattr(module, name):
            raise TypeError(f"channel {module.__name__} lacks {name}")
    if not (isinstance(module.Config, type) and issubclass(module.Config, BaseModel)):
        raise TypeError(f"channel {module.__name__}: Config must be a pydantic model")
    if module.Config.model_config.get("extra") != "forbid":
        raise TypeError(f"channel {module.__name__}: Config must forbid extra fields")
    return module


CHANNELS: dict[str, ModuleType] = {
    m.kind: _check(m) for m in (webhook, slack, pagerduty, teams, email, snmp, mqtt)
}
