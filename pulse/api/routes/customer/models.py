"""Field types shared by the /customer request models."""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import AfterValidator, Field, StringConstraints

from pulse.provisioning.devices import ID_PATTERN

MAX_METADATA_BYTES = 16 * 1024

ResourceId = Annotated[str, StringConstraints(pattern=ID_PATTERN, max_length=128)]
Tag = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[^\x00-\x1f,]+$")
]
ShortText = Annotated[str, StringConstraints(max_length=200)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
Text = Annotated[str, StringConstraints(max_length=2000)]


def _bounded_metadata(value: dict[str, Any]) -> dict[str, Any]:
    if len(json.dumps(value)) > MAX_METADATA_BYTES:
        raise ValueError(f"metadata larger than {MAX_METADATA_BYTES} bytes")
    return value


Metadata = Annotated[dict[str, Any], AfterValidator(_bounded_metadata)]
Tags = Annotated[list[Tag], Field(max_length=50)]
IdList = Annotated[list[ResourceId], Field(max_length=100)]
