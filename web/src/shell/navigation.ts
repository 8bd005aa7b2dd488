/** The sidebar, by role. Only pages that exist are listed; a new page adds one entry here and one
 * route in App.tsx. Groups follow the reference console (Overview, Fleet, Monitoring, …). */
import type { Access } from "../auth/roles";

export interface NavEntry {
  label: string;
  path: string;
  group: string;
  allowed: (access: Access) => boolean;
}

const tenantUser = (access: Access) => access.isTenantUser;
const operator = (access: Access) => access.isOperator;

export const NAV_ENTRIES: NavEntry[] = [
  { group: "Overview", label: "Dashboard", path: "/dashboard", allowed: tenantUser },
  { group: "Fleet", label: "Devices", path: "/devices", allowed: tenantUser },
  { group: "Monitoring", label: "Alerts", path: "/alerts", allowed: tenantUser },
  { group: "Monitoring", label: "Alert rules", path: "/rules", allowed: tenantUser },
  { group: "Monitoring", label: "On-call", path: "/oncall", allowed: tenantUser },
  { group: "Monitoring", label: "Escalation", path: "/escalation", allowed: tenantUser },
  { group: "Monitoring", label: "Maintenance", path: "/maintenance", allowed: tenantUser },
  { group: "Data & integrations", label: "Notifications", path: "/notifications", allowed: tenantUser },
  { group: "Data & integrations", label: "Deliveries", path: "/deliveries", allowed: tenantUser },
  { group: "Operations", label: "Tenants", path: "/operator/tenants", allowed: operator },
];

export interface NavGroup {
  group: string;
  entries: NavEntry[];
}

export function navigationFor(access: Access): NavGroup[] {
  const groups: NavGroup[] = [];
  for (const entry of NAV_ENTRIES) {
    if (!entry.allowed(access)) continue;
    let group = groups.find((g) => g.group === entry.group);
    if (!group) {
      group = { group: entry.group, entries: [] };
      groups.push(group);
    }
    group.entries.push(entry);
  }
  return groups;
}

/** Where `/` leads: operators to their pages, tenant users to the dashboard. */
export function homePathFor(access: Access): string | null {
  return navigationFor(access)[0]?.entries[0]?.path ?? null;
}
