import { lazy, Suspense, useEffect, useState } from "react";
import {
  Anchor,
  Box,
  Button,
  Card,
  Code,
  CopyButton,
  Group,
  Modal,
  SegmentedControl,
  Select,
  SimpleGrid,
  Stack,
  Table,
  Text,
  Textarea,
  TextInput,
  Title,
  Alert as Notice,
  Grid,
  VisuallyHidden,
} from "@mantine/core";
import { Link, useParams } from "react-router-dom";
import { ApiError } from "../api/errors";
import {
  useDevice,
  useDeviceAlerts,
  useDeviceChart,
  useDeviceTokens,
  useLatestTelemetry,
  useLiveTelemetry,
  useRevokeToken,
  useRotateTokens,
  useUpdateDevice,
} from "../api/queries";
import type { DeviceRecord } from "../api/types";
import { useSession } from "../auth/AuthProvider";
import { SeverityBadge, StatusBadge } from "../components/Badges";
import { Empty, ErrorState, Loading } from "../components/States";
import { TimeText } from "../components/TimeText";
import {
  changedFields,
  chartMetrics,
  EDITABLE_FIELDS,
  editValuesOf,
  formatValue,
  latestValues,
  numericMetrics,
  RANGES,
  type EditValues,
} from "./deviceDetail";
import { PageHeader } from "./PageHeader";

const MetricChart = lazy(() => import("../components/MetricChart"));

function Fact({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <Box>
      <Text size="xs" c="dimmed" tt="uppercase" fw={700}>
        {label}
      </Text>
      <Text size="sm" component="div">
        {children}
      </Text>
    </Box>
  );
}

function Header({ device }: { device: DeviceRecord }) {
  return (
    <Card withBorder aria-label="Device summary" component="section">
      <SimpleGrid cols={{ base: 2, sm: 3, lg: 6 }}>
        <Fact label="Status">
          <StatusBadge status={device.status} />
        </Fact>
        <Fact label="Site">{device.site_id}</Fact>
        <Fact label="Type">{device.device_type ?? "—"}</Fact>
        <Fact label="Last seen">
          <TimeText iso={device.last_seen_at} relative /> {device.last_seen_at && <>(<TimeText iso={device.last_seen_at} />)</>}
        </Fact>
        <Fact label="Last telemetry">
          <TimeText iso={device.last_telemetry_at} relative />
        </Fact>
        <Fact label="Registry">{device.registry_status}</Fact>
      </SimpleGrid>
    </Card>
  );
}

function ChartCard({ deviceId }: { deviceId: string }) {
  const [hours, setHours] = useState("24");
  const auto = useDeviceChart(deviceId, Number(hours));
  // no rollups yet (a device that just started): chart the metrics it reports, from the raw tail
  const latest = latestValues(useLatestTelemetry(deviceId).data, useLiveTelemetry(deviceId).data);
  const reported = numericMetrics(latest);
  const fallback = auto.isSuccess && chartMetrics(auto.data).length === 0 && reported.length > 0;
  const named = useDeviceChart(deviceId, Number(hours), reported, fallback);
  const chart = fallback ? named : auto;
  const metrics = chartMetrics(chart.data);
  const [picked, setPicked] = useState<string | null>(null);
  const metric = picked && metrics.includes(picked) ? picked : (metrics[0] ?? null);
  const rangeLabel = RANGES.find((r) => r.value === hours)?.label ?? hours;
  return (
    <Card withBorder component="section" aria-labelledby="device-charts-title">
      <Group justify="space-between" mb="xs" align="flex-end">
        <Title order={2} size="h4" id="device-charts-title">
          Telemetry
        </Title>
        <Group align="flex-end">
          {metrics.length > 0 && (
            <Select
              label="Metric"
              data={metrics}
              value={metric}
              onChange={setPicked}
              allowDeselect={false}
              w={200}
              size="xs"
            />
          )}
          <Box>
            <Text size="xs" fw={500} mb={2} id="device-range-label">
              Range
            </Text>
            <SegmentedControl
              size="xs"
              aria-labelledby="device-range-label"
              data={RANGES.map((r) => ({ value: r.value, label: r.label }))}
              value={hours}
              onChange={setHours}
            />
          </Box>
        </Group>
      </Group>
      {chart.isPending ? (
        <Loading label="Loading telemetry…" />
      ) : chart.isError ? (
        <ErrorState error={chart.error} onRetry={() => void chart.refetch()} />
      ) : !metric || !chart.data.series[metric] ? (
        <Empty title={`No telemetry in the last ${rangeLabel}`}>Choose a longer range, or wait for the device to report.</Empty>
      ) : (
        <Suspense fallback={<Loading label="Loading chart…" />}>
          <MetricChart
            metric={metric}
            timestamps={chart.data.timestamps}
            columns={chart.data.series[metric]}
            label={`${metric} over the last ${rangeLabel}: average with min–max band, ${chart.data.timestamps.length} buckets of ${Math.round(chart.data.bucket_seconds / 60)} min`}
          />
          <Text size="xs" c="dimmed" aria-live="polite">
            {metric} · last {rangeLabel} · {Math.round(chart.data.bucket_seconds / 60)}-minute buckets · from{" "}
            <TimeText iso={chart.data.start} /> to <TimeText iso={chart.data.end} />
          </Text>
        </Suspense>
      )}
    </Card>
  );
}

function LatestCard({ deviceId }: { deviceId: string }) {
  const fetched = useLatestTelemetry(deviceId);
  const live = useLiveTelemetry(deviceId);
  const latest = latestValues(fetched.data, live.data);
  return (
    <Card withBorder component="section" aria-labelledby="device-latest-title">
      <Group justify="space-between" mb="xs">
        <Title order={2} size="h4" id="device-latest-title">
          Latest values
        </Title>
        {latest.at && (
          <Text size="xs" c="dimmed">
            <TimeText iso={latest.at} />
          </Text>
        )}
      </Group>
      {fetched.isPending ? (
        <Loading label="Loading latest values…" />
      ) : fetched.isError ? (
        <ErrorState error={fetched.error} onRetry={() => void fetched.refetch()} />
      ) : latest.metrics.length === 0 ? (
        <Empty title="No telemetry yet">Values appear as soon as the device reports.</Empty>
      ) : (
        <Table aria-label="Latest values" striped>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Metric</Table.Th>
              <Table.Th>Value</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {latest.metrics.map(([name, value]) => (
              <Table.Tr key={name}>
                <Table.Td>{name}</Table.Td>
                <Table.Td>{formatValue(value)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Card>
  );
}

function AlertsCard({ deviceId }: { deviceId: string }) {
  const alerts = useDeviceAlerts(deviceId);
  return (
    <Card withBorder component="section" aria-labelledby="device-alerts-title">
      <Group justify="space-between" mb="xs">
        <Title order={2} size="h4" id="device-alerts-title">
          Alerts
        </Title>
        <Anchor component={Link} to="/alerts" size="sm">
          Alert inbox
        </Anchor>
      </Group>
      {alerts.isPending ? (
        <Loading label="Loading alerts…" />
      ) : alerts.isError ? (
        <ErrorState error={alerts.error} onRetry={() => void alerts.refetch()} />
      ) : alerts.data.alerts.length === 0 ? (
        <Empty title="No alerts for this device" />
      ) : (
        <Table aria-label="Alerts of this device">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Severity</Table.Th>
              <Table.Th>Summary</Table.Th>
              <Table.Th>Status</Table.Th>
              <Table.Th>Opened</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {alerts.data.alerts.map((alert) => (
              <Table.Tr key={alert.alert_id}>
                <Table.Td>
                  <SeverityBadge severity={alert.severity} />
                </Table.Td>
                <Table.Td>
                  {alert.summary}
                  <Text size="xs" c="dimmed">
                    {alert.alert_type}
                  </Text>
                </Table.Td>
                <Table.Td>
                  <StatusBadge status={alert.status} />
                </Table.Td>
                <Table.Td>
                  <TimeText iso={alert.created_at} />
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      {alerts.data && alerts.data.total > alerts.data.alerts.length && (
        <Text size="xs" c="dimmed" mt="xs">
          Showing the newest {alerts.data.alerts.length} of {alerts.data.total}.
        </Text>
      )}
    </Card>
  );
}

function EditDevice({ device, onClose }: { device: DeviceRecord; onClose: () => void }) {
  const [values, setValues] = useState<EditValues>(() => editValuesOf(device));
  const update = useUpdateDevice(device.device_id);
  const changes = changedFields(device, values);
  const nameMissing = values.name.trim() === "";
  return (
    <form
      onSubmit={(event) => {
        event.preventDefault();
        if (nameMissing || Object.keys(changes).length === 0) return;
        update.mutate(changes, { onSuccess: onClose });
      }}
    >
      <Stack>
        {update.isError && <ErrorState error={update.error} />}
        {EDITABLE_FIELDS.map(({ key, label }) =>
          key === "notes" ? (
            <Textarea
              key={key}
              label={label}
              value={values[key]}
              autosize
              minRows={2}
              maxLength={2000}
              onChange={(e) => setValues({ ...values, [key]: e.currentTarget.value })}
            />
          ) : (
            <TextInput
              key={key}
              label={label}
              value={values[key]}
              maxLength={key === "name" ? 128 : 200}
              required={key === "name"}
              error={key === "name" && nameMissing ? "A device needs a name" : undefined}
              onChange={(e) => setValues({ ...values, [key]: e.currentTarget.value })}
            />
          ),
        )}
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose}>
            Cancel
          </Button>
          <Button type="submit" loading={update.isPending} disabled={nameMissing || Object.keys(changes).length === 0}>
            Save
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

function CredentialsCard({ deviceId, canWrite }: { deviceId: string; canWrite: boolean }) {
  const tokens = useDeviceTokens(deviceId);
  const rotate = useRotateTokens(deviceId);
  const revoke = useRevokeToken(deviceId);
  const [confirmRotate, setConfirmRotate] = useState(false);
  const secret = rotate.data;
  return (
    <Card withBorder component="section" aria-labelledby="device-credentials-title">
      <Group justify="space-between" mb="xs">
        <Title order={2} size="h4" id="device-credentials-title">
          API tokens
        </Title>
        {canWrite && (
          <Button size="xs" variant="outline" onClick={() => setConfirmRotate(true)}>
            Rotate
          </Button>
        )}
      </Group>
      <Text size="sm" c="dimmed" mb="xs">
        Extra broker logins of this device. Rotating revokes every active token and creates a new one.
      </Text>
      {rotate.isError && <ErrorState error={rotate.error} />}
      {revoke.isError && <ErrorState error={revoke.error} />}
      {secret && (
        <Notice color="blue.9" variant="outline" title="New token: copy the password now, it is shown only once" mb="sm" role="status">
          <Stack gap={4}>
            <Text size="sm">
              Client id: <Code>{secret.client_id}</Code>
            </Text>
            <Group gap="xs">
              <Text size="sm">
                Password: <Code>{secret.password}</Code>
              </Text>
              <CopyButton value={secret.password}>
                {({ copied, copy }) => (
                  <Button size="compact-xs" variant="outline" color="blue.9" onClick={copy}>
                    {copied ? "Copied" : "Copy password"}
                  </Button>
                )}
              </CopyButton>
            </Group>
            {secret.broker_url && (
              <Text size="sm">
                Broker: <Code>{secret.broker_url}</Code>
              </Text>
            )}
            <Button size="compact-xs" variant="default" onClick={() => rotate.reset()} w="fit-content">
              I have stored it — hide
            </Button>
          </Stack>
        </Notice>
      )}
      {tokens.isPending ? (
        <Loading label="Loading tokens…" />
      ) : tokens.isError ? (
        <ErrorState error={tokens.error} onRetry={() => void tokens.refetch()} />
      ) : tokens.data.tokens.length === 0 ? (
        <Empty title="No active tokens">{canWrite ? "Rotate creates the first one." : null}</Empty>
      ) : (
        <Table aria-label="Active API tokens">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Client id</Table.Th>
              <Table.Th>Label</Table.Th>
              <Table.Th>Created</Table.Th>
              {canWrite && (
                <Table.Th>
                  <VisuallyHidden>Actions</VisuallyHidden>
                </Table.Th>
              )}
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {tokens.data.tokens.map((token) => (
              <Table.Tr key={token.id}>
                <Table.Td>
                  <Code>{token.client_id}</Code>
                </Table.Td>
                <Table.Td>{token.label}</Table.Td>
                <Table.Td>
                  <TimeText iso={token.created_at} />
                </Table.Td>
                {canWrite && (
                <Table.Td>
                  <Button
                    size="compact-xs"
                    color="red.9"
                    variant="outline"
                    loading={revoke.isPending && revoke.variables === token.id}
                    onClick={() => {
                      if (window.confirm(`Revoke ${token.client_id}? Its connection is dropped.`)) revoke.mutate(token.id);
                    }}
                    aria-label={`Revoke token ${token.client_id}`}
                  >
                    Revoke
                  </Button>
                </Table.Td>
                )}
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      <Modal
        opened={confirmRotate}
        onClose={() => setConfirmRotate(false)}
        title="Rotate API tokens?"
        closeButtonProps={{ "aria-label": "Close" }}
      >
        <Text size="sm" mb="md">
          Every active token of {deviceId} stops working and its connection is dropped. A new token is created and its
          password is shown once.
        </Text>
        <Group justify="flex-end">
          <Button variant="default" onClick={() => setConfirmRotate(false)}>
            Cancel
          </Button>
          <Button
            loading={rotate.isPending}
            onClick={() => rotate.mutate(undefined, { onSettled: () => setConfirmRotate(false) })}
          >
            Rotate tokens
          </Button>
        </Group>
      </Modal>
    </Card>
  );
}

export function DeviceDetailPage() {
  const { deviceId = "" } = useParams();
  const { access } = useSession();
  const device = useDevice(deviceId);
  const [editing, setEditing] = useState(false);
  const [, setTick] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => setTick((t) => t + 1), 15_000); // keep "… ago" current
    return () => clearInterval(timer);
  }, []);

  if (device.isPending) return <Loading label="Loading device…" />;
  if (device.isError) {
    if (device.error instanceof ApiError && device.error.status === 404) {
      return (
        <>
          <PageHeader title="Device not found" />
          <Empty title={`No device ${deviceId} in this tenant`}>
            <Anchor component={Link} to="/devices">
              Back to devices
            </Anchor>
          </Empty>
        </>
      );
    }
    return <ErrorState error={device.error} onRetry={() => void device.refetch()} />;
  }
  const record = device.data.device;
  return (
    <>
      <Anchor component={Link} to="/devices" size="sm">
        ← Devices
      </Anchor>
      <PageHeader title={record.name && record.name !== record.device_id ? `${record.name}` : record.device_id}>
        {access.canWriteTenant && (
          <Button variant="outline" onClick={() => setEditing(true)}>
            Edit
          </Button>
        )}
      </PageHeader>
      {record.name && record.name !== record.device_id && (
        <Text size="sm" c="dimmed" mt={-12} mb="sm">
          {record.device_id}
        </Text>
      )}
      <Stack>
        <Header device={record} />
        <Grid>
          <Grid.Col span={{ base: 12, lg: 8 }}>
            <ChartCard deviceId={deviceId} />
          </Grid.Col>
          <Grid.Col span={{ base: 12, lg: 4 }}>
            <LatestCard deviceId={deviceId} />
          </Grid.Col>
        </Grid>
        <AlertsCard deviceId={deviceId} />
        <CredentialsCard deviceId={deviceId} canWrite={access.canWriteTenant} />
      </Stack>
      <Modal
        opened={editing}
        onClose={() => setEditing(false)}
        title={`Edit ${record.device_id}`}
        size="lg"
        closeButtonProps={{ "aria-label": "Close" }}
      >
        {editing && <EditDevice device={record} onClose={() => setEditing(false)} />}
      </Modal>
    </>
  );
}
