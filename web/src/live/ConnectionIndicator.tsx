import { Badge, Tooltip } from "@mantine/core";
import { useLiveStatus, type LiveIndicatorState } from "./LiveProvider";

const LOOK: Record<LiveIndicatorState, { label: string; color: string; explain: string }> = {
  live: { label: "Live", color: "teal.9", explain: "Receiving live updates." },
  connecting: { label: "Connecting", color: "yellow.4", explain: "Opening the live connection." },
  reconnecting: {
    label: "Reconnecting",
    color: "orange.4",
    explain: "The live connection dropped; retrying with backoff. Data may be out of date.",
  },
  forbidden: { label: "Live off", color: "red.9", explain: "The server refused live updates for this account." },
  stopped: { label: "Offline", color: "gray.7", explain: "Live updates stopped." },
  unavailable: {
    label: "Refreshing every 30 s",
    color: "gray.7",
    explain: "Live updates are per tenant; operator pages refresh periodically.",
  },
};

export function ConnectionIndicator() {
  const status = useLiveStatus();
  const look = LOOK[status];
  return (
    <Tooltip label={look.explain}>
      <Badge color={look.color} variant="filled" autoContrast role="status" aria-live="polite" tabIndex={0}>
        {look.label}
      </Badge>
    </Tooltip>
  );
}
