"""The OpenAPI documents say what the API enforces: bounds reach the schema as JSON Schema keywords."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pulse.api.app import create_admin_app, create_app
from pulse.config import load_settings

# pydantic's own names for constraints; in a schema they mean a bound was checked but not published.
_LEAKED = {"ge", "gt", "le", "lt", "multiple_of"}


def _documents() -> dict[str, dict]:
    settings = load_settings(_env_file=None)
    return {
        "api": create_app(settings, None).openapi(),  # type: ignore[arg-type]
        "admin": create_admin_app(settings, None, "k" * 32).openapi(),  # type: ignore[arg-type]
    }


def _schemas(node: object, path: str = "") -> Iterator[tuple[str, dict]]:
    if isinstance(node, dict):
        if "type" in node or "$ref" in node or "anyOf" in node:
            yield path, node
        for key, value in node.items():
            yield from _schemas(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _schemas(value, f"{path}/{i}")


@pytest.mark.parametrize("name", ["api", "admin"])
def test_no_constraint_is_missing_from_the_schema(name: str) -> None:
    leaked = [
        f"{path}: {sorted(set(s) & _LEAKED)}" for path, s in _schemas(_documents()[name]) if set(s) & _LEAKED
    ]
    assert leaked == []


def test_alert_rule_bounds_are_published() -> None:
    schemas = _documents()["api"]["components"]["schemas"]
    anomaly = next(s for n, s in schemas.items() if n.startswith("AnomalyConditions"))["properties"]
    assert (anomaly["window_minutes"]["minimum"], anomaly["window_minutes"]["maximum"]) == (5, 1440)
    assert (anomaly["min_samples"]["minimum"], anomaly["min_samples"]["maximum"]) == (3, 10_000)
    assert anomaly["z_threshold"]["exclusiveMinimum"] == 0 and anomaly["z_threshold"]["maximum"] == 20
