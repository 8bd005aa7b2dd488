import { Badge } from "@mantine/core";

// Shades chosen for WCAG AA text contrast (white on the dark ones, black on the light ones via
// autoContrast); Mantine's default filled shades of green and orange are below 4.5:1.
const STATUS_COLOR: Record<string, string> = {
  ONLINE: "teal.9",
  STALE: "yellow.4",
  OFFLINE: "red.9",
  OPEN: "red.9",
  ACKNOWLEDGED: "blue.9",
  CLOSED: "gray.7",
  ACTIVE: "teal.9",
  SUSPENDED: "orange.4",
  DELETED: "gray.7",
};

export function StatusBadge({ status }: { status: string }) {
  return (
    <Badge color={STATUS_COLOR[status] ?? "gray.7"} variant="filled" autoContrast>
      {status}
    </Badge>
  );
}

/** Severity 1–5 (5 most severe), as the alert rules define it. */
export function SeverityBadge({ severity }: { severity: number }) {
  const color = severity >= 5 ? "red.9" : severity >= 4 ? "orange.4" : severity >= 3 ? "yellow.4" : "gray.7";
  return (
    <Badge color={color} variant="filled" autoContrast title={`Severity ${severity} of 5`}>
      Sev {severity}
    </Badge>
  );
}
