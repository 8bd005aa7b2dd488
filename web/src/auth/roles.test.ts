import { accessFromClaims, decodeJwtPayload } from "./roles";

function jwt(claims: object): string {
  const encode = (value: object) => btoa(JSON.stringify(value)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  return `${encode({ alg: "RS256" })}.${encode(claims)}.signature`;
}

describe("access from token claims", () => {
  it("reads realm roles and tenant the way the API does, with implied roles", () => {
    const access = accessFromClaims(decodeJwtPayload(jwt({ realm_access: { roles: ["tenant-admin"] }, tenant_id: "demo" })));
    expect([...access.roles].sort()).toEqual(["customer", "tenant-admin"]);
    expect(access.tenantId).toBe("demo");
    expect(access.canWriteTenant).toBe(true);
    expect(access.isOperator).toBe(false);
  });

  it("gives a customer read access only", () => {
    const access = accessFromClaims({ realm_access: { roles: ["customer"] }, tenant_id: "demo" });
    expect(access.isTenantUser).toBe(true);
    expect(access.canWriteTenant).toBe(false);
  });

  it("takes Keycloak's organization claim as the tenant", () => {
    expect(accessFromClaims({ realm_access: { roles: ["customer"] }, organization: "acme" }).tenantId).toBe("acme");
  });

  it("treats operator-admin as operator and ignores unknown roles", () => {
    const access = accessFromClaims({ realm_access: { roles: ["operator-admin", "superuser"] } });
    expect([...access.roles].sort()).toEqual(["operator", "operator-admin"]);
    expect(access.isTenantUser).toBe(false);
  });

  it("survives a token that is not a JWT", () => {
    expect(decodeJwtPayload("opaque-token")).toEqual({});
    expect(accessFromClaims(decodeJwtPayload("a.%%%.c")).roles.size).toBe(0);
  });
});
