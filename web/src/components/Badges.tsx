import { Badge } from "@mantine/core";

const STATUS_COLOR: Record<string, string> = {
  ONLINE: "green",
  STALE: "yellow",
  OFFLINE: "red",
  OPEN: "red",
  ACKNOWLEDGED: "blue",
  CLOSED: "gray",
  ACTIVE: "green",
  SUSPENDED: "orange",
  DELETED: "gray",
};

export function StatusBadge({ status }: { status: string }) {
  return (
    <Badge color={STATUS_COLOR[status] ?? "gray"} variant="light" autoContrast>
      {status}
    </Badge>
  );
}

/** Severity 1–5 (5 most severe), as the alert rules define it. */
export function SeverityBadge({ severity }: { severity: number }) {
  const color = severity >= 5 ? "red" : severity >= 4 ? "orange" : severity >= 3 ? "yellow" : "gray";
  return (
    <Badge color={color} variant="filled" autoContrast aria-label={`severity ${severity}`}>
      S{severity}
    </Badge>
  );
}
