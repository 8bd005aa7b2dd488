import { accessFromClaims } from "../auth/roles";
import { homePathFor, navigationFor } from "./navigation";

const labels = (roles: string[], tenant?: string) =>
  navigationFor(accessFromClaims({ realm_access: { roles }, ...(tenant ? { tenant_id: tenant } : {}) })).flatMap((g) =>
    g.entries.map((e) => e.label),
  );

describe("navigation by role", () => {
  it("shows tenant users their fleet pages and no operator pages", () => {
    expect(labels(["customer"], "demo")).toEqual([
      "Dashboard",
      "Devices",
      "Alerts",
      "Alert rules",
      "On-call",
      "Escalation",
      "Maintenance",
      "Notifications",
      "Deliveries",
    ]);
  });

  it("shows operators the operator pages only", () => {
    expect(labels(["operator"])).toEqual(["Tenants"]);
  });

  it("sends each role to its first page", () => {
    expect(homePathFor(accessFromClaims({ realm_access: { roles: ["tenant-admin"] }, tenant_id: "t" }))).toBe("/dashboard");
    expect(homePathFor(accessFromClaims({ realm_access: { roles: ["operator-admin"] } }))).toBe("/operator/tenants");
    expect(homePathFor(accessFromClaims({}))).toBeNull();
  });
});
