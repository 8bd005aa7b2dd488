"""Provisioning and subscription-limit errors become API errors with the same status and code."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pulse.api.errors import ApiError
from pulse.identity.users import IdentityError
from pulse.provisioning.devices import ProvisioningError
from pulse.subscriptions.limits import CapacityError


@contextmanager
def as_api_errors() -> Iterator[None]:
    try:
        yield
    except (ProvisioningError, CapacityError, IdentityError) as exc:
        raise ApiError(exc.status, exc.error, exc.detail) from None
