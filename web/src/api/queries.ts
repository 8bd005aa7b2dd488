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
  DeviceChart,
  DeviceDetail,
  DeviceTokenList,
  LatestTelemetry,
  NewDeviceToken,
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
  // not under "devices": the live feed maps every ["devices", …] entry as a list
  device: (deviceId: string) => ["device", deviceId] as const,
  deviceChart: (deviceId: string, hours: number, metrics: string) =>
    ["device", deviceId, "chart", hours, metrics] as const,
  deviceLatest: (deviceId: string) => ["device", deviceId, "latest"] as const,
  deviceTokens: (deviceId: string) => ["device", deviceId, "tokens"] as const,
  deviceAlerts: (deviceId: string) => ["alerts", "device", deviceId] as const,
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

const enc = encodeURIComponent;

export function useDevice(deviceId: string) {
  const api = useApi();
  return useQuery({
    queryKey: keys.device(deviceId),
    queryFn: () => api<DeviceDetail>(`/api/v2/devices/${enc(deviceId)}`),
  });
}

/** `metrics` empty: every metric the device has rollups for (the API's default); named metrics are
 * also read from the raw tail, so a device that only just started reporting charts at once. */
export function useDeviceChart(deviceId: string, hours: number, metrics: string[] = [], enabled = true) {
  const api = useApi();
  const named = metrics.join(",");
  return useQuery({
    queryKey: keys.deviceChart(deviceId, hours, named),
    queryFn: () =>
      api<DeviceChart>(
        `/api/v2/devices/${enc(deviceId)}/chart?hours=${hours}${named ? `&metrics=${enc(named)}` : ""}`,
      ),
    refetchInterval: 30_000, // rollups grow by the minute
    placeholderData: (previous) => previous,
    enabled,
  });
}

export function useLatestTelemetry(deviceId: string) {
  const api = useApi();
  return useQuery({
    queryKey: keys.deviceLatest(deviceId),
    queryFn: () => api<LatestTelemetry>(`/api/v2/devices/${enc(deviceId)}/telemetry/latest`),
  });
}

/** The last telemetry message the live feed wrote for this device (live/applyLiveMessage.ts). */
export function useLiveTelemetry(deviceId: string) {
  return useQuery<{ timestamp?: string | null; metrics?: Record<string, unknown> } | null>({
    queryKey: keys.liveTelemetry(deviceId),
    queryFn: () => null,
    enabled: false,
    staleTime: Infinity,
  });
}

export function useDeviceAlerts(deviceId: string) {
  const api = useApi();
  return useQuery({
    queryKey: keys.deviceAlerts(deviceId),
    queryFn: () => api<AlertList>(`/customer/alerts?status=ALL&device_id=${enc(deviceId)}&limit=50`),
  });
}

export function useDeviceTokens(deviceId: string) {
  const api = useApi();
  return useQuery({
    queryKey: keys.deviceTokens(deviceId),
    queryFn: () => api<DeviceTokenList>(`/customer/devices/${enc(deviceId)}/tokens`),
  });
}

export function useUpdateDevice(deviceId: string) {
  const api = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (changes: Record<string, unknown>) =>
      api<DeviceDetail>(`/customer/devices/${enc(deviceId)}`, { method: "PATCH", body: changes }),
    onSuccess: (detail) => {
      queryClient.setQueryData(keys.device(deviceId), detail);
      void queryClient.invalidateQueries({ queryKey: keys.devices });
    },
  });
}

export function useRotateTokens(deviceId: string) {
  const api = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () =>
      api<NewDeviceToken>(`/customer/devices/${enc(deviceId)}/tokens/rotate`, { method: "POST", body: {} }),
    onSettled: () => void queryClient.invalidateQueries({ queryKey: keys.deviceTokens(deviceId) }),
  });
}

export function useRevokeToken(deviceId: string) {
  const api = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (tokenId: string) =>
      api<void>(`/customer/devices/${enc(deviceId)}/tokens/${enc(tokenId)}`, { method: "DELETE" }),
    onSettled: () => void queryClient.invalidateQueries({ queryKey: keys.deviceTokens(deviceId) }),
  });
}
