"""Property-based run over the whole OpenAPI document (schemathesis + hypothesis): valid and invalid
requests at every operation, as a tenant admin and as an operator admin; nothing may answer 5xx and
every error must have the standard shape."""

from __future__ import annotations

import asyncio

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.integration.api.helpers import bearer, seed_resources
from tests.integration.api.live_server import serve

EXAMPLES_PER_MODE = 6
# The WebSocket is not in the document; readyz answers 503 by design when a dependency is down.
SKIP = {"GET /readyz"}


def _fuzz_operation(
    operation, mode: GenerationMode, base_url: str, headers: dict, problems: list[str]
) -> None:
    @hypothesis_settings(
        max_examples=EXAMPLES_PER_MODE,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case) -> None:
        response = case.call(base_url=base_url, headers=headers, timeout=30)
        if response.status_code >= 500:
            problems.append(
                f"{operation.label} [{mode.value}] -> {response.status_code}: {response.text[:300]}"
            )
            return
        content_type = response.headers.get("content-type") or ""
        content_type = content_type[0] if isinstance(content_type, list) else content_type
        if response.status_code >= 400 and content_type.startswith("application/json"):
            body = response.json()
            if not (isinstance(body, dict) and "error" in body and "detail" in body):
                problems.append(
                    f"{operation.label} -> {response.status_code} without the error shape: {body}"
                )

    try:
        check()
    except Unsatisfiable:
        pass  # nothing in this operation can be made invalid (no parameters, no body)


def _fuzz(spec: dict, base_url: str, tenant_headers: dict, operator_headers: dict) -> list[str]:
    schema = schemathesis.openapi.from_dict(spec)
    problems: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.label in SKIP:
            continue
        headers = operator_headers if operation.path.startswith("/operator") else tenant_headers
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz_operation(operation, mode, base_url, headers, problems)
    return problems


@pytest.mark.slow  # about 30 s: every operation, two modes, two roles
async def test_no_operation_answers_5xx(app, pool, tenants) -> None:
    await seed_resources(pool, tenants[0], "a")
    tenant_headers = await bearer(app, ["tenant-admin"], tenants[0])
    operator_headers = await bearer(app, ["operator-admin"], None)
    spec = app.openapi()
    async with serve(app) as address:
        problems = await asyncio.to_thread(_fuzz, spec, f"http://{address}", tenant_headers, operator_headers)
    assert problems == [], "\n".join(problems)
