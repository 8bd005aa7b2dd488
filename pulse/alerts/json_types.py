"""Building blocks of the stored-JSON schemas in this package.

These schemas validate two kinds of input: request bodies (the API, on write) and rows read back from
JSONB columns (the evaluator). A JSON `true` is not a number to either of them, although pydantic's
lax mode would take it as 1; and every refusal carries a message that names the field, because the
evaluator logs it when it skips a row.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)


def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("must be a number, not a boolean")
    return value


def _a_number(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        raise ValueError(f"must be a finite number, not {value!r}")
    return value


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


def _positive(value: float) -> float:
    if value <= 0:
        raise ValueError("must be positive")
    return value


FiniteNumber = Annotated[float, BeforeValidator(_a_number), AfterValidator(_finite)]


# The bounds come first in these types, on the plain number, so that they reach the OpenAPI schema as
# `minimum`/`maximum`; placed after a validator they would be checked but left out of the schema.
def whole(ge: int, le: int) -> Any:
    """An integer in [ge, le]; a JSON `true` is not one."""
    return Annotated[int, Field(ge=ge, le=le), BeforeValidator(_not_bool)]


def positive_number(le: float | None = None) -> Any:
    """A finite number above 0 (and at most `le`)."""
    return Annotated[
        float,
        Field(le=le, json_schema_extra={"exclusiveMinimum": 0}),
        BeforeValidator(_a_number),
        AfterValidator(_finite),
        AfterValidator(_positive),
    ]


class StoredJson(BaseModel):
    """Base of a JSON column's schema as it is read back: frozen, and unknown keys are ignored (a row
    written by another version may carry keys this one does not know). The API's write models narrow
    this with `extra="forbid"`."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _must_be_object(cls, value: Any) -> Any:
        if not isinstance(value, Mapping | BaseModel):
            raise ValueError("must be an object")
        return value


WRITE = ConfigDict(extra="forbid")  # what request bodies get: an unknown key is a client's mistake


def explain(exc: ValidationError, column: str) -> str:
    """One line naming each failing field, e.g. `conditions.min_samples: Input should be …`."""
    return "; ".join(
        ".".join([column, *(str(part) for part in err["loc"])]) + ": " + err["msg"] for err in exc.errors()
    )
