"""deploy/keycloak/realm-pulse.json gives Keycloak what Pulse's token check needs: the four realm roles,
a public console client with PKCE S256, `tenant_id` and the `pulse-api` audience in access tokens."""

from __future__ import annotations

import json
from pathlib import Path

REALM = json.loads((Path(__file__).parents[3] / "deploy" / "keycloak" / "realm-pulse.json").read_text())


def test_realm_roles() -> None:
    assert REALM["realm"] == "pulse"
    names = {r["name"] for r in REALM["roles"]["realm"]}
    assert names == {"customer", "tenant-admin", "operator", "operator-admin"}


def test_console_client_is_public_with_pkce() -> None:
    client = next(c for c in REALM["clients"] if c["clientId"] == "pulse-ui")
    assert client["publicClient"] and client["standardFlowEnabled"]
    assert not client["implicitFlowEnabled"] and not client["directAccessGrantsEnabled"]
    assert client["attributes"]["pkce.code.challenge.method"] == "S256"
    mappers = {m["protocolMapper"]: m["config"] for m in client["protocolMappers"]}
    tenant = mappers["oidc-usermodel-attribute-mapper"]
    assert tenant["user.attribute"] == "tenant_id" and tenant["claim.name"] == "tenant_id"
    assert tenant["access.token.claim"] == "true"
    assert mappers["oidc-audience-mapper"]["included.custom.audience"] == "pulse-api"  # = PULSE_OIDC_AUDIENCE
    assert mappers["oidc-usermodel-realm-role-mapper"]["claim.name"] == "realm_access.roles"


def test_demo_users_have_a_tenant_exactly_when_they_have_a_tenant_role() -> None:
    for user in REALM["users"]:
        has_tenant = "tenant_id" in user.get("attributes", {})
        assert has_tenant == bool({"customer", "tenant-admin"} & set(user["realmRoles"])), user["username"]
        assert all(c["temporary"] for c in user["credentials"])  # changed at first login
