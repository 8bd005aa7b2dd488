import { useMemo, useState } from "react";
import { Button, Checkbox, Group, Table, Tabs, Text, UnstyledButton } from "@mantine/core";
import { useSearchParams } from "react-router-dom";
import { useAcknowledge, useAlerts } from "../api/queries";
import type { AlertStatus } from "../api/types";
import { useSession } from "../auth/AuthProvider";
import { SeverityBadge } from "../components/Badges";
import { Empty, ErrorState, Loading } from "../components/States";
import { TimeText } from "../components/TimeText";
import { AlertDetailDrawer } from "./AlertTimeline";
import { PageHeader } from "./PageHeader";

const TABS: { status: AlertStatus; label: string; empty: string }[] = [
  { status: "OPEN", label: "Open", empty: "Nothing is open. New alerts appear here without a reload." },
  { status: "ACKNOWLEDGED", label: "Acknowledged", empty: "No acknowledged alerts." },
  { status: "CLOSED", label: "Closed", empty: "No closed alerts yet." },
];

function isStatus(value: string | null): value is AlertStatus {
  return TABS.some((t) => t.status === value);
}

function AlertTable({ status, onOpen }: { status: AlertStatus; onOpen: (alertId: number) => void }) {
  const { access } = useSession();
  const alerts = useAlerts(status);
  const acknowledge = useAcknowledge();
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const selectable = access.canWriteTenant && status === "OPEN";
  const rows = alerts.data?.alerts ?? [];
  const visibleSelected = useMemo(() => rows.filter((a) => selected.has(a.alert_id)).map((a) => a.alert_id), [rows, selected]);

  if (alerts.isPending) return <Loading label="Loading alerts…" />;
  if (alerts.isError) return <ErrorState error={alerts.error} onRetry={() => void alerts.refetch()} />;
  const tab = TABS.find((t) => t.status === status);
  if (rows.length === 0) return <Empty title={`No ${tab?.label.toLowerCase()} alerts`}>{tab?.empty}</Empty>;

  const toggle = (id: number) =>
    setSelected((current) => {
      const next = new Set(current);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  const allSelected = visibleSelected.length === rows.length;

  return (
    <>
      {selectable && (
        <Group mb="sm">
          <Button
            disabled={visibleSelected.length === 0}
            loading={acknowledge.isPending}
            onClick={() => acknowledge.mutate(visibleSelected, { onSuccess: () => setSelected(new Set()) })}
          >
            Acknowledge selected ({visibleSelected.length})
          </Button>
        </Group>
      )}
      {acknowledge.isError && <ErrorState error={acknowledge.error} />}
      <Text size="sm" c="dimmed" mb="xs">
        {alerts.data.total > rows.length
          ? `Showing the newest ${rows.length} of ${alerts.data.total}`
          : `${rows.length} alert${rows.length === 1 ? "" : "s"}`}
      </Text>
      <Table highlightOnHover striped aria-label={`${tab?.label} alerts`}>
        <Table.Thead>
          <Table.Tr>
            {selectable && (
              <Table.Th w={40}>
                <Checkbox
                  aria-label="Select all alerts"
                  checked={allSelected}
                  indeterminate={!allSelected && visibleSelected.length > 0}
                  onChange={() => setSelected(allSelected ? new Set() : new Set(rows.map((a) => a.alert_id)))}
                />
              </Table.Th>
            )}
            <Table.Th>Severity</Table.Th>
            <Table.Th>Alert</Table.Th>
            <Table.Th>Device</Table.Th>
            <Table.Th>Type</Table.Th>
            <Table.Th>Opened</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {rows.map((alert) => (
            <Table.Tr key={alert.alert_id}>
              {selectable && (
                <Table.Td>
                  <Checkbox
                    aria-label={`Select alert ${alert.alert_id}`}
                    checked={selected.has(alert.alert_id)}
                    onChange={() => toggle(alert.alert_id)}
                  />
                </Table.Td>
              )}
              <Table.Td>
                <SeverityBadge severity={alert.severity} />
              </Table.Td>
              <Table.Td>
                <UnstyledButton onClick={() => onOpen(alert.alert_id)} td="underline" fz="sm">
                  {alert.summary}
                </UnstyledButton>
              </Table.Td>
              <Table.Td>{alert.device_id}</Table.Td>
              <Table.Td>{alert.alert_type}</Table.Td>
              <Table.Td>
                <TimeText iso={alert.created_at} />
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </>
  );
}

export function AlertsPage() {
  const [params, setParams] = useSearchParams();
  const requested = params.get("status");
  const status: AlertStatus = isStatus(requested) ? requested : "OPEN";
  const openAlert = Number(params.get("alert")) || null;
  const setOpenAlert = (alertId: number | null) =>
    setParams((current) => {
      const next = new URLSearchParams(current);
      if (alertId === null) next.delete("alert");
      else next.set("alert", String(alertId));
      return next;
    });

  return (
    <>
      <PageHeader title="Alerts" />
      <Tabs
        value={status}
        onChange={(value) => {
          if (value) setParams({ status: value });
        }}
      >
        <Tabs.List mb="md">
          {TABS.map((tab) => (
            <Tabs.Tab key={tab.status} value={tab.status}>
              {tab.label}
            </Tabs.Tab>
          ))}
        </Tabs.List>
        {TABS.map((tab) => (
          <Tabs.Panel key={tab.status} value={tab.status}>
            {tab.status === status && <AlertTable status={tab.status} onOpen={setOpenAlert} />}
          </Tabs.Panel>
        ))}
      </Tabs>
      <AlertDetailDrawer alertId={openAlert} onClose={() => setOpenAlert(null)} />
    </>
  );
}
