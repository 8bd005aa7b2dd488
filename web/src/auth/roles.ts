/** Roles as the API reads them (pulse/identity/roles.py): realm_access.roles, where tenant-admin
 * implies customer and operator-admin implies operator. The console only uses them to choose what to
 * show; the API enforces them. */
export type Role = "customer" | "tenant-admin" | "operator" | "operator-admin";

const IMPLIED: Record<Role, Role[]> = {
  customer: ["customer"],
  "tenant-admin": ["tenant-admin", "customer"],
  operator: ["operator"],
  "operator-admin": ["operator-admin", "operator"],
};

export interface Access {
  roles: ReadonlySet<Role>;
  tenantId: string | null;
  /** A tenant user who may change things (acknowledge, close …): tenant-admin. */
  canWriteTenant: boolean;
  isTenantUser: boolean;
  isOperator: boolean;
}

export function decodeJwtPayload(token: string): Record<string, unknown> {
  const part = token.split(".")[1];
  if (!part) return {};
  try {
    const base64 = part.replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
    const json = new TextDecoder().decode(Uint8Array.from(atob(padded), (c) => c.charCodeAt(0)));
    const parsed: unknown = JSON.parse(json);
    return typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function isRole(value: unknown): value is Role {
  return typeof value === "string" && value in IMPLIED;
}

/** Access from the claims of the access token (falling back to the ID token's profile). */
export function accessFromClaims(...claimSets: Record<string, unknown>[]): Access {
  const granted = new Set<Role>();
  let tenantId: string | null = null;
  for (const claims of claimSets) {
    const realm = claims.realm_access as { roles?: unknown } | undefined;
    const roles = Array.isArray(realm?.roles) ? realm.roles : [];
    for (const role of roles) if (isRole(role)) IMPLIED[role].forEach((r) => granted.add(r));
    if (!tenantId && typeof claims.tenant_id === "string") tenantId = claims.tenant_id;
    if (!tenantId && typeof claims.organization === "string") tenantId = claims.organization;
  }
  const isTenantUser = granted.has("customer") && tenantId !== null;
  return {
    roles: granted,
    tenantId,
    isTenantUser,
    canWriteTenant: isTenantUser && granted.has("tenant-admin"),
    isOperator: granted.has("operator"),
  };
}
