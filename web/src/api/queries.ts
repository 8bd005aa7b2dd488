/** Query keys and hooks for server state. The live feed (live/applyLiveMessage.ts) writes into the
 * same keys, so every page that reads them updates without polling. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useApi } from "./ApiProvider";
import type { ApiClient } from "./client";
import type {
  AlertDetail,
  AlertEvents,
  AlertList,
  AlertStatus,
  Device,
  DeviceList,
  DeviceStatus,
  FleetSummary,
  TenantList,
} from "./types";

export const keys = {
  fleetSummary: ["fleet-summary"] as const,
  alerts: ["alerts"] as const,
  alertList: (status: AlertStatus) => ["alerts", status] as const,
  alert: (alertId: number) => ["alerts", "detail", alertId] as const,
  alertEvents: (alertId: number) => ["alert-events", alertId] as const,
  devices: ["devices"] as const,
  deviceList: (filter: DeviceFilter) => ["devices", filter] as const,
  liveTelemetry: (deviceId: string) => ["live-telemetry", deviceId] as const,
  tenants: ["tenants"] as const,
};

export interface DeviceFilter {
  q: string;
  status: DeviceStatus | "";
}

const DEVICE_PAGE = 1000; // the API's maximum page size
const MAX_DEVICES = 20_000;

/** Every device matching the filter, page by page (a 10,000-device fleet is 10 requests). */
export async function fetchAllDevices(api: ApiClient, filter: DeviceFilter): Promise<Device[]> {
  const devices: Device[] = [];
  for (let offset = 0; offset < MAX_DEVICES; offset += DEVICE_PAGE) {
    const params = new URLSearchParams({ limit: String(DEVICE_PAGE), offset: String(offset) });
    if (filter.q.trim()) params.set("q", filter.q.trim());
    if (filter.status) params.set("status", filter.status);
    const page = await api<DeviceList>(`/api/v2/devices?${params}`);
    devices.push(...page.devices);
    if (page.devices.length < DEVICE_PAGE || devices.length >= page.total) break;
  }
  return devices;
}

export function useFleetSummary() {
  const api = useApi();
  return useQuery({ queryKey: keys.fleetSummary, queryFn: () => api<FleetSummary>("/api/v2/fleet/summary") });
}

export function useDevices(filter: DeviceFilter) {
  const api = useApi();
  return useQuery({ queryKey: keys.deviceList(filter), queryFn: () => fetchAllDevices(api, filter) });
}

export function useAlerts(status: AlertStatus) {
  const api = useApi();
  return useQuery({
    queryKey: keys.alertList(status),
    queryFn: () => api<AlertList>(`/customer/alerts?status=${status}&limit=200`),
  });
}

export function useAlert(alertId: number | null) {
  const api = useApi();
  return useQuery({
    queryKey: keys.alert(alertId ?? -1),
    queryFn: () => api<AlertDetail>(`/customer/alerts/${alertId}`),
    enabled: alertId !== null,
  });
}

export function useAlertEvents(alertId: number | null) {
  const api = useApi();
  return useQuery({
    queryKey: keys.alertEvents(alertId ?? -1),
    queryFn: () => api<AlertEvents>(`/customer/alerts/${alertId}/events`),
    enabled: alertId !== null,
  });
}

export function useAcknowledge() {
  const api = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (alertIds: number[]) => {
      const results = await Promise.allSettled(
        alertIds.map((id) => api<AlertDetail>(`/customer/alerts/${id}/acknowledge`, { method: "PATCH" })),
      );
      const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
      if (failed) throw failed.reason;
      return results.length;
    },
    onSettled: (_data, _error, alertIds) => {
      void queryClient.invalidateQueries({ queryKey: keys.alerts });
      void queryClient.invalidateQueries({ queryKey: keys.fleetSummary });
      for (const id of alertIds) void queryClient.invalidateQueries({ queryKey: keys.alertEvents(id) });
    },
  });
}

export function useTenants() {
  const api = useApi();
  return useQuery({
    queryKey: keys.tenants,
    queryFn: () => api<TenantList>("/operator/tenants?status=ALL&limit=500"),
    refetchInterval: 30_000, // operators have no live feed (the WebSocket is per tenant)
  });
}
