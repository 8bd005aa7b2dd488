"""Every API route's token check: what is accepted, what is refused with 401, and 403 for a wrong role."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from fastapi import FastAPI

from pulse.api.app import create_app
from pulse.api.deps import CurrentPrincipal, CustomerPrincipal, Operator
from pulse.identity import keys
from tests.integration.api.helpers import bearer, client_for
from tests.integration.identity.jwks_server import ExternalIssuer


def _with_probe_routes(app: FastAPI) -> FastAPI:
    """Three tiny routes behind the real dependencies, so each token case is checked in isolation."""

    @app.get("/probe/any")
    async def any_user(principal: CurrentPrincipal) -> dict:
        return {"sub": principal.sub, "tenant": principal.tenant_id, "roles": sorted(principal.roles)}

    @app.get("/probe/customer")
    async def customer(principal: CustomerPrincipal) -> dict:
        return {"tenant": principal.tenant_id}

    @app.get("/probe/operator")
    async def operator(principal: Operator) -> dict:
        return {"sub": principal.sub}

    return app


@pytest.fixture
def probe_app(settings, pool):
    return _with_probe_routes(create_app(settings, pool))


@pytest.fixture
async def probe(probe_app):
    async with client_for(probe_app) as client:
        yield client


@pytest.fixture
def external():
    issuer = ExternalIssuer()
    yield issuer
    issuer.close()


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


async def _status(client, headers: dict, path: str = "/probe/any") -> tuple[int, dict]:
    response = await client.get(path, headers=headers)
    return response.status_code, response.json()


async def test_valid_token_is_accepted(probe, probe_app) -> None:
    status, body = await _status(probe, await bearer(probe_app, ["tenant-admin"], "tenant-a"))
    assert status == 200
    assert body["tenant"] == "tenant-a" and body["roles"] == ["customer", "tenant-admin"]


async def test_missing_or_malformed_token(probe) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer not.a.jwt"},
        {"Authorization": "Basic x"},
    ):
        status, body = await _status(probe, headers)
        assert status == 401, headers
        assert body["error"] == "unauthorized"


async def test_alg_none_is_refused(probe, probe_app) -> None:
    good = (await bearer(probe_app, ["customer"], "tenant-a"))["Authorization"].removeprefix("Bearer ")
    claims = jwt.decode(good, options={"verify_signature": False})
    kid = jwt.get_unverified_header(good)["kid"]
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{_b64(claims)}."
    status, body = await _status(probe, {"Authorization": f"Bearer {unsigned}"})
    assert status == 401 and "algorithm" in body["detail"]


async def test_hmac_with_the_public_key_is_refused(probe, probe_app) -> None:
    """The classic confusion attack: HS256 keyed with the RSA public key the JWKS publishes."""
    key = await probe_app.state.issuer.keys.signing_key()
    public_pem = key.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    good = (await bearer(probe_app, ["customer"], "tenant-a"))["Authorization"].removeprefix("Bearer ")
    claims = jwt.decode(good, options={"verify_signature": False})
    header = _b64({"alg": "HS256", "typ": "JWT", "kid": key.kid})
    payload = _b64(claims)
    import hashlib
    import hmac

    signature = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    forged = f"{header}.{payload}.{base64.urlsafe_b64encode(signature).decode().rstrip('=')}"
    status, _ = await _status(probe, {"Authorization": f"Bearer {forged}"})
    assert status == 401


async def test_tampered_payload_is_refused(probe, probe_app) -> None:
    good = (await bearer(probe_app, ["customer"], "tenant-a"))["Authorization"].removeprefix("Bearer ")
    header, payload, signature = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["tenant_id"] = "tenant-b"
    status, body = await _status(probe, {"Authorization": f"Bearer {header}.{_b64(claims)}.{signature}"})
    assert status == 401 and body["detail"] == "bad token signature"


# Claims as functions of the time the test runs (values computed at collection would age with a long
# session: a "not yet valid" token collected 10 minutes before it is used is valid).
@pytest.mark.parametrize(
    ("override", "detail"),
    [
        (lambda now: {"exp": now - 120}, "token expired"),
        (lambda now: {"nbf": now + 600}, "token not yet valid"),
        (lambda now: {"iss": "https://elsewhere.example"}, "token from an untrusted issuer"),
        (lambda now: {"aud": "another-api"}, "token for another audience"),
    ],
)
async def test_time_issuer_and_audience_checks(probe, probe_app, override, detail) -> None:
    claims = override(int(time.time()))
    status, body = await _status(probe, await bearer(probe_app, ["customer"], "tenant-a", **claims))
    assert status == 401
    assert body["detail"] == detail


async def test_customer_role_without_tenant_is_refused(probe, probe_app) -> None:
    status, body = await _status(probe, await bearer(probe_app, ["customer"], None))
    assert status == 401 and "tenant" in body["detail"]


async def test_unknown_kid_is_refused(probe, probe_app) -> None:
    key = await probe_app.state.issuer.keys.signing_key()
    claims = jwt.decode(
        (await bearer(probe_app, ["customer"], "tenant-a"))["Authorization"].removeprefix("Bearer "),
        options={"verify_signature": False},
    )
    token = jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": "made-up"})
    status, body = await _status(probe, {"Authorization": f"Bearer {token}"})
    assert status == 401 and body["detail"] == "unknown signing key"


async def test_wrong_role_is_403(probe, probe_app) -> None:
    customer = await bearer(probe_app, ["customer"], "tenant-a")
    operator = await bearer(probe_app, ["operator"], None)
    assert (await _status(probe, customer, "/probe/operator"))[0] == 403
    assert (await _status(probe, operator, "/probe/customer"))[0] == 403
    assert (await _status(probe, await bearer(probe_app, ["operator-admin"], None), "/probe/operator"))[
        0
    ] == 200


async def test_rotation_keeps_old_tokens_valid(probe, probe_app, pool) -> None:
    old = await bearer(probe_app, ["customer"], "tenant-a")
    old_kid = (await probe_app.state.issuer.keys.signing_key()).kid
    new_kid = await keys.rotate(pool, None)
    assert new_kid != old_kid
    assert (await _status(probe, old))[0] == 200  # signed by the retired key, still in the overlap
    # A fresh app (another process) signs with the new key and publishes both.
    other = create_app(probe_app.state.settings, pool)
    assert (await other.state.issuer.keys.signing_key()).kid == new_kid
    published = {k["kid"] for k in (await other.state.issuer.keys.jwks())["keys"]}
    assert published == {old_kid, new_kid}
    assert (await _status(probe, await bearer(other, ["customer"], "tenant-a")))[0] == 200


async def test_second_issuer_only_when_configured(settings, pool, external) -> None:
    token = {
        "Authorization": "Bearer "
        + external.token(realm_access={"roles": ["customer"]}, tenant_id="tenant-a")
    }
    plain = _with_probe_routes(create_app(settings, pool))
    async with client_for(plain) as client:
        status, body = await _status(client, token)
    assert status == 401 and body["detail"] == "token from an untrusted issuer"

    configured = _with_probe_routes(
        create_app(settings.model_copy(update={"oidc_issuer": external.url}), pool)
    )
    async with client_for(configured) as client:
        status, body = await _status(client, token)
        assert status == 200, body
        assert body["tenant"] == "tenant-a" and body["sub"] == "kc-user-1"
        # Keycloak Organizations: the tenant is the organization's alias.
        org = external.token(realm_access={"roles": ["tenant-admin"]}, organization={"tenant-b": {}})
        assert (await _status(client, {"Authorization": f"Bearer {org}"}))[1]["tenant"] == "tenant-b"
        # The built-in issuer still works next to it.
        assert (await _status(client, await bearer(configured, ["customer"], "tenant-a")))[0] == 200
        # The external issuer rotates: an unknown kid makes us fetch its JWKS again.
        fetched = external.jwks_requests
        external.add_key("ext-2")
        verifier_issuer = next(
            i for i in configured.state.verifier._issuers.values() if i.issuer == external.url
        )
        verifier_issuer._fetched_at -= 60  # past the anti-hammering interval, inside the TTL
        rotated = external.token(kid="ext-2", realm_access={"roles": ["customer"]}, tenant_id="tenant-a")
        assert (await _status(client, {"Authorization": f"Bearer {rotated}"}))[0] == 200
        assert external.jwks_requests == fetched + 1
        # Its tokens still need our audience.
        other_aud = external.token(
            audience="account", realm_access={"roles": ["customer"]}, tenant_id="tenant-a"
        )
        assert (await _status(client, {"Authorization": f"Bearer {other_aud}"}))[0] == 401


async def test_unreachable_external_issuer_is_503(settings, pool, external) -> None:
    url = external.url
    external.close()
    app = _with_probe_routes(create_app(settings.model_copy(update={"oidc_issuer": url}), pool))
    token = ExternalIssuer.token(external, realm_access={"roles": ["customer"]}, tenant_id="tenant-a")
    async with client_for(app) as client:
        status, body = await _status(client, {"Authorization": f"Bearer {token}"})
    assert status == 503 and body["error"] == "auth_unavailable"


async def test_external_issuer_with_a_trailing_slash(settings, pool, external) -> None:
    """Auth0 and Azure AD publish `iss` with a trailing slash: configured so, it is compared exactly."""
    issuer = external.url + "/"
    app = _with_probe_routes(create_app(settings.model_copy(update={"oidc_issuer": issuer}), pool))
    token = external.token(iss=issuer, realm_access={"roles": ["customer"]}, tenant_id="tenant-a")
    async with client_for(app) as client:
        status, body = await _status(client, {"Authorization": f"Bearer {token}"})
        assert status == 200, body
        # Exact: the same issuer without the slash is another issuer.
        bare = external.token(realm_access={"roles": ["customer"]}, tenant_id="tenant-a")
        assert (await _status(client, {"Authorization": f"Bearer {bare}"}))[0] == 401
