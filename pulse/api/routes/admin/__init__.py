"""The provisioning admin API (reference §2.8), served on its own port by the `admin` service and guarded
by `X-Admin-Key`: installers and factory tooling create tenants, devices, activation codes and
integrations for any tenant. Devices exchange an activation code for their provision token at
`POST /api/device/activate` (no key; the code is the secret)."""

from __future__ import annotations

from pulse.api.routes.admin import activation, devices, integrations, tenants

ADMIN_ROUTERS = [tenants.router, devices.router, integrations.router, activation.router]
