"""Types the admin API's request and response models share."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from pulse.api.errors import ErrorBody
from pulse.provisioning.devices import ID_PATTERN, TENANT_ID_PATTERN

DeviceId = Annotated[str, Field(pattern=ID_PATTERN)]
TenantId = Annotated[str, Field(pattern=TENANT_ID_PATTERN)]

PROVISIONING_ERRORS = {
    401: {"model": ErrorBody},
    403: {"model": ErrorBody},
    404: {"model": ErrorBody},
    409: {"model": ErrorBody},
}
