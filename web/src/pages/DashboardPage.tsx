import { lazy, Suspense } from "react";
import { Anchor, Card, Divider, Group, SimpleGrid, Stack, Text, Title } from "@mantine/core";
import { Link } from "react-router-dom";
import { useAcknowledge, useAlerts, useDevices, useFleetSummary } from "../api/queries";
import type { Device } from "../api/types";
import { useSession } from "../auth/AuthProvider";
import { StatusBadge } from "../components/Badges";
import { Empty, ErrorState, Loading } from "../components/States";
import { TimeText } from "../components/TimeText";
import { AlertRow } from "./AlertRow";
import { PageHeader } from "./PageHeader";

const StatusChart = lazy(() => import("../components/StatusChart"));

const ALL_DEVICES = { q: "", status: "" } as const;
const RECENT_COUNT = 8;

export function recentlyActive(devices: Device[], count = RECENT_COUNT): Device[] {
  return devices
    .filter((d) => d.last_seen_at)
    .sort((a, b) => (b.last_seen_at ?? "").localeCompare(a.last_seen_at ?? ""))
    .slice(0, count);
}

function Kpi({ label, value, color }: { label: string; value: number; color?: string }) {
  return (
    <Card withBorder padding="sm">
      <Text size="xs" c="dimmed" tt="uppercase" fw={700}>
        {label}
      </Text>
      <Text size="xl" fw={700} c={color}>
        {value.toLocaleString()}
      </Text>
    </Card>
  );
}

function FleetKpis() {
  const summary = useFleetSummary();
  if (summary.isPending) return <Loading label="Loading fleet status…" />;
  if (summary.isError) return <ErrorState error={summary.error} onRetry={() => void summary.refetch()} />;
  const s = summary.data;
  return (
    <SimpleGrid cols={{ base: 2, sm: 3, lg: 6 }} aria-label="Fleet status counts">
      <Kpi label="Devices" value={s.total_devices} />
      <Kpi label="Online" value={s.online} color="green.8" />
      <Kpi label="Stale" value={s.stale} color="yellow.9" />
      <Kpi label="Offline" value={s.offline} color="red.8" />
      <Kpi label="Open alerts" value={s.alerts_open} color={s.alerts_open ? "red.8" : undefined} />
      <Kpi label="Acknowledged" value={s.alerts_acknowledged} />
    </SimpleGrid>
  );
}

function StatusCard() {
  const summary = useFleetSummary();
  return (
    <Card withBorder>
      <Title order={2} size="h4" mb="xs">
        Device status
      </Title>
      {summary.data ? (
        summary.data.total_devices === 0 ? (
          <Empty title="No devices yet">Devices appear here once they are provisioned.</Empty>
        ) : (
          <Suspense fallback={<Loading label="Loading chart…" />}>
            <StatusChart counts={summary.data} />
          </Suspense>
        )
      ) : (
        <Loading />
      )}
    </Card>
  );
}

function OpenAlertsCard() {
  const { access } = useSession();
  const alerts = useAlerts("OPEN");
  const acknowledge = useAcknowledge();
  return (
    <Card withBorder>
      <Group justify="space-between" mb="xs">
        <Title order={2} size="h4">
          Open alerts
        </Title>
        <Anchor component={Link} to="/alerts" size="sm">
          All alerts
        </Anchor>
      </Group>
      {acknowledge.isError && <ErrorState error={acknowledge.error} />}
      {alerts.isPending ? (
        <Loading label="Loading alerts…" />
      ) : alerts.isError ? (
        <ErrorState error={alerts.error} onRetry={() => void alerts.refetch()} />
      ) : alerts.data.alerts.length === 0 ? (
        <Empty title="No open alerts">New alerts appear here as they open.</Empty>
      ) : (
        <Stack gap={0} aria-label="Open alerts" component="ul" p={0} m={0} style={{ listStyle: "none" }}>
          {alerts.data.alerts.slice(0, 10).map((alert, index) => (
            <li key={alert.alert_id}>
              {index > 0 && <Divider />}
              <AlertRow
                alert={alert}
                busy={acknowledge.isPending && acknowledge.variables?.includes(alert.alert_id)}
                onAcknowledge={access.canWriteTenant ? (id) => acknowledge.mutate([id]) : undefined}
              />
            </li>
          ))}
        </Stack>
      )}
    </Card>
  );
}

function RecentDevicesCard() {
  const devices = useDevices(ALL_DEVICES);
  return (
    <Card withBorder>
      <Group justify="space-between" mb="xs">
        <Title order={2} size="h4">
          Recently active devices
        </Title>
        <Anchor component={Link} to="/devices" size="sm">
          All devices
        </Anchor>
      </Group>
      {devices.isPending ? (
        <Loading label="Loading devices…" />
      ) : devices.isError ? (
        <ErrorState error={devices.error} onRetry={() => void devices.refetch()} />
      ) : recentlyActive(devices.data).length === 0 ? (
        <Empty title="No device has reported yet" />
      ) : (
        <Stack gap={6} component="ul" p={0} m={0} style={{ listStyle: "none" }} aria-label="Recently active devices">
          {recentlyActive(devices.data).map((device) => (
            <Group component="li" key={device.device_id} justify="space-between" wrap="nowrap">
              <Text size="sm" truncate>
                {device.device_id}
                <Text span size="xs" c="dimmed">
                  {" "}
                  · {device.site_id}
                </Text>
              </Text>
              <Group gap="xs" wrap="nowrap">
                <Text size="xs" c="dimmed">
                  <TimeText iso={device.last_seen_at} relative />
                </Text>
                <StatusBadge status={device.status} />
              </Group>
            </Group>
          ))}
        </Stack>
      )}
    </Card>
  );
}

export function DashboardPage() {
  return (
    <>
      <PageHeader title="Fleet overview" />
      <Stack>
        <FleetKpis />
        <SimpleGrid cols={{ base: 1, md: 2 }}>
          <OpenAlertsCard />
          <StatusCard />
        </SimpleGrid>
        <RecentDevicesCard />
      </Stack>
    </>
  );
}
