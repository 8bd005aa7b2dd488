"""Channel registry: `CHANNELS[kind]` is a module with `kind`, `Config` (its validated settings),
`DESTINATION_FIELDS` (the `Config` fields that say where its secrets go: a masked secret sent back is
kept only while these are unchanged),
`check` (save-time outbound-safety check of its targets), `render` and `send`; optionally
`rate_limit(config) -> (target, per_second, burst)` for providers that limit a target's rate, and
`async after_test(event, config, http, ctx)` for channels whose test send leaves something at the
provider to undo (PagerDuty resolves the incident the test opened); `deliver.test_once` calls it.

A module that breaks the contract fails at import, not at the first delivery."""

from __future__ import annotations

import inspect
from types import ModuleType

from pydantic import BaseModel

from pulse.notify.channels import email, mqtt, pagerduty, slack, snmp, teams, webhook


def conforming(module: ModuleType) -> ModuleType:
    for name in ("kind", "Config", "DESTINATION_FIELDS", "check", "render", "send"):
        if not hasattr(module, name):
            raise TypeError(f"channel {module.__name__} lacks {name}")
    if not (isinstance(module.Config, type) and issubclass(module.Config, BaseModel)):
        raise TypeError(f"channel {module.__name__}: Config must be a pydantic model")
    if module.Config.model_config.get("extra") != "forbid":
        raise TypeError(f"channel {module.__name__}: Config must forbid extra fields")
    fields = module.DESTINATION_FIELDS
    if not isinstance(fields, tuple) or not set(fields) <= set(module.Config.model_fields):
        raise TypeError(f"channel {module.__name__}: DESTINATION_FIELDS must be a tuple of Config fields")
    for name in ("send", "check", "after_test"):
        hook = getattr(module, name, None)
        if hook is not None and not inspect.iscoroutinefunction(hook):
            raise TypeError(f"channel {module.__name__}: {name} must be an async function")
    if hasattr(module, "rate_limit") and not callable(module.rate_limit):
        raise TypeError(f"channel {module.__name__}: rate_limit must be a function")
    return module


CHANNELS: dict[str, ModuleType] = {
    m.kind: conforming(m) for m in (webhook, slack, pagerduty, teams, email, snmp, mqtt)
}
