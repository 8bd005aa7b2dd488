import type { QueryClient } from "@tanstack/react-query";
import { keys } from "../api/queries";
import type { Alert, Device, DeviceDetail } from "../api/types";
import type { LiveMessage } from "./LiveConnection";

interface DeviceStateChange {
  device_id: string;
  site_id: string;
  status: string;
  last_seen_at: string | null;
  last_state_change_at: string | null;
}

/** Writes one live message into the query cache: devices change in place, alert events refetch the
 * alert lists, counts and timelines they touch. */
export function applyLiveMessage(queryClient: QueryClient, message: LiveMessage): void {
  switch (message.type) {
    case "device_state":
      applyDeviceStates(queryClient, (message.devices as DeviceStateChange[] | undefined) ?? []);
      break;
    case "telemetry":
      applyTelemetry(queryClient, message);
      break;
    case "alerts":
      applyAlerts(queryClient, (message.alerts as (Alert & { event: string })[] | undefined) ?? []);
      break;
    default:
      break;
  }
}

function applyDeviceStates(queryClient: QueryClient, changes: DeviceStateChange[]): void {
  if (changes.length === 0) return;
  const byId = new Map(changes.map((c) => [c.device_id, c]));
  let statusChanged = false;
  queryClient.setQueriesData<Device[]>({ queryKey: keys.devices }, (devices) => {
    if (!devices) return devices;
    return devices.map((device) => {
      const change = byId.get(device.device_id);
      if (!change) return device;
      if (change.status !== device.status) statusChanged = true;
      return {
        ...device,
        status: change.status,
        last_seen_at: change.last_seen_at,
        last_state_change_at: change.last_state_change_at,
      };
    });
  });
  for (const change of changes) {
    queryClient.setQueryData<DeviceDetail>(keys.device(change.device_id), (detail) =>
      detail
        ? {
            ...detail,
            device: {
              ...detail.device,
              status: change.status,
              last_seen_at: change.last_seen_at,
              last_state_change_at: change.last_state_change_at,
            },
          }
        : detail,
    );
  }
  if (statusChanged) {
    // status filters and counts depend on it: fetch them again
    void queryClient.invalidateQueries({ queryKey: keys.devices });
    void queryClient.invalidateQueries({ queryKey: keys.fleetSummary });
  }
}

function applyTelemetry(queryClient: QueryClient, message: LiveMessage): void {
  const deviceId = message.device_id;
  const data = message.data as { timestamp?: string | null; metrics?: Record<string, unknown> } | undefined;
  if (typeof deviceId !== "string" || !data) return;
  queryClient.setQueryData(keys.liveTelemetry(deviceId), data);
  queryClient.setQueriesData<Device[]>({ queryKey: keys.devices }, (devices) =>
    devices?.map((device) =>
      device.device_id === deviceId
        ? { ...device, state: data.metrics ?? device.state, last_telemetry_at: data.timestamp ?? null }
        : device,
    ),
  );
}

function applyAlerts(queryClient: QueryClient, alerts: (Alert & { event: string })[]): void {
  if (alerts.length === 0) return;
  void queryClient.invalidateQueries({ queryKey: keys.alerts });
  void queryClient.invalidateQueries({ queryKey: keys.fleetSummary });
  for (const alert of alerts) {
    void queryClient.invalidateQueries({ queryKey: keys.alertEvents(alert.alert_id) });
  }
}
