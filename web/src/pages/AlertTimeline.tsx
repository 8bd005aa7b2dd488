import { Badge, Button, Drawer, Group, Stack, Text, Timeline, Title } from "@mantine/core";
import { useAcknowledge, useAlert, useAlertEvents } from "../api/queries";
import { useSession } from "../auth/AuthProvider";
import { SeverityBadge, StatusBadge } from "../components/Badges";
import { Empty, ErrorState, Loading } from "../components/States";
import { TimeText } from "../components/TimeText";

function EventTimeline({ alertId }: { alertId: number }) {
  const events = useAlertEvents(alertId);
  if (events.isPending) return <Loading label="Loading timeline…" />;
  if (events.isError) return <ErrorState error={events.error} onRetry={() => void events.refetch()} />;
  if (events.data.events.length === 0) return <Empty title="No events recorded" />;
  return (
    <Timeline bulletSize={14} lineWidth={2}>
      {events.data.events.map((event, index) => (
        <Timeline.Item key={`${event.event}-${event.created_at}-${index}`} title={event.event}>
          <Text size="xs" c="dimmed">
            <TimeText iso={event.created_at} />
            {event.actor ? ` · ${event.actor}` : ""}
            {event.level !== null ? ` · level ${event.level}` : ""}
          </Text>
        </Timeline.Item>
      ))}
    </Timeline>
  );
}

/** Alert detail: what the alert is, acknowledge (tenant admins), and its event timeline
 * (OPEN, ACKNOWLEDGED, ESCALATED, CLOSED …). */
export function AlertDetailDrawer({ alertId, onClose }: { alertId: number | null; onClose: () => void }) {
  const { access } = useSession();
  const detail = useAlert(alertId);
  const acknowledge = useAcknowledge();
  const alert = detail.data?.alert;
  return (
    <Drawer
      opened={alertId !== null}
      onClose={onClose}
      position="right"
      size="md"
      title={alertId !== null ? `Alert ${alertId}` : "Alert"}
      closeButtonProps={{ "aria-label": "Close alert detail" }}
    >
      {alertId !== null && detail.isPending && <Loading label="Loading alert…" />}
      {detail.isError && <ErrorState error={detail.error} onRetry={() => void detail.refetch()} />}
      {alertId !== null && alert && (
        <Stack>
          <Group gap="xs">
            <SeverityBadge severity={alert.severity} />
            <StatusBadge status={alert.status} />
            <Badge variant="outline" color="gray">
              {alert.alert_type}
            </Badge>
          </Group>
          <Text fw={600}>{alert.summary}</Text>
          <Text size="sm">
            Device {alert.device_id} at site {alert.site_id}
            <br />
            Opened <TimeText iso={alert.created_at} />
            {alert.acknowledged_at && (
              <>
                <br />
                Acknowledged by {alert.acknowledged_by ?? "someone"} <TimeText iso={alert.acknowledged_at} />
              </>
            )}
          </Text>
          {access.canWriteTenant && alert.status === "OPEN" && (
            <Group>
              <Button loading={acknowledge.isPending} onClick={() => acknowledge.mutate([alert.alert_id])}>
                Acknowledge
              </Button>
            </Group>
          )}
          {acknowledge.isError && <ErrorState error={acknowledge.error} />}
          <section aria-labelledby="alert-timeline-heading">
            <Title order={3} size="h5" id="alert-timeline-heading" mb="xs">
              Timeline
            </Title>
            <EventTimeline alertId={alertId} />
          </section>
        </Stack>
      )}
    </Drawer>
  );
}
