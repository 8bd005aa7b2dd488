import { Button, Group, Stack, Text } from "@mantine/core";
import type { Alert } from "../api/types";
import { SeverityBadge } from "../components/Badges";
import { TimeText } from "../components/TimeText";

/** One alert as a compact row: severity, summary, device, age; acknowledge when `onAcknowledge`. */
export function AlertRow({
  alert,
  onAcknowledge,
  busy,
}: {
  alert: Alert;
  onAcknowledge?: (alertId: number) => void;
  busy?: boolean;
}) {
  return (
    <Group justify="space-between" wrap="nowrap" py={6}>
      <Group gap="sm" wrap="nowrap" style={{ minWidth: 0 }}>
        <SeverityBadge severity={alert.severity} />
        <Stack gap={0} style={{ minWidth: 0 }}>
          <Text size="sm" fw={500} truncate>
            {alert.summary}
          </Text>
          <Text size="xs" c="dimmed">
            {alert.device_id} · {alert.alert_type} · opened <TimeText iso={alert.created_at} relative />
          </Text>
        </Stack>
      </Group>
      {onAcknowledge && (
        <Button
          size="xs"
          variant="outline"
          loading={busy}
          onClick={() => onAcknowledge(alert.alert_id)}
          aria-label={`Acknowledge alert ${alert.alert_id}: ${alert.summary}`}
        >
          Acknowledge
        </Button>
      )}
    </Group>
  );
}
