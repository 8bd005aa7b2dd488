"""The four realm roles and what each may do. Tenant roles and operator roles never mix on one user."""

from __future__ import annotations

CUSTOMER = "customer"  # read the own tenant
TENANT_ADMIN = "tenant-admin"  # manage the own tenant
OPERATOR = "operator"  # read every tenant (audited)
OPERATOR_ADMIN = "operator-admin"  # also manage tenants and settings

TENANT_ROLES = frozenset({CUSTOMER, TENANT_ADMIN})
OPERATOR_ROLES = frozenset({OPERATOR, OPERATOR_ADMIN})
ALL_ROLES = TENANT_ROLES | OPERATOR_ROLES

# A role grants the roles listed here too, so `require_role(CUSTOMER)` admits a tenant-admin.
IMPLIED: dict[str, frozenset[str]] = {
    CUSTOMER: frozenset({CUSTOMER}),
    TENANT_ADMIN: frozenset({TENANT_ADMIN, CUSTOMER}),
    OPERATOR: frozenset({OPERATOR}),
    OPERATOR_ADMIN: frozenset({OPERATOR_ADMIN, OPERATOR}),
}


def effective_roles(roles: frozenset[str] | set[str] | list[str]) -> frozenset[str]:
    granted: set[str] = set()
    for role in roles:
        granted |= IMPLIED.get(role, frozenset())
    return frozenset(granted)


def role_problem(roles: list[str], tenant_id: str | None) -> str | None:
    """Why this set of roles cannot be given to a user of `tenant_id` (None: an operator), or None."""
    if not roles:
        return "at least one role is needed"
    unknown = sorted(set(roles) - ALL_ROLES)
    if unknown:
        return f"unknown role(s) {unknown}; known: {sorted(ALL_ROLES)}"
    has_tenant_role = bool(set(roles) & TENANT_ROLES)
    has_operator_role = bool(set(roles) & OPERATOR_ROLES)
    if has_tenant_role and has_operator_role:
        return "tenant roles and operator roles cannot be combined"
    if has_tenant_role and not tenant_id:
        return "customer and tenant-admin users need a tenant"
    if has_operator_role and tenant_id:
        return "operators belong to no tenant"
    return None
