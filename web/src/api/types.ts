/** Response shapes of the endpoints the console reads (from the API's OpenAPI document). */
export type DeviceStatus = "ONLINE" | "STALE" | "OFFLINE";
export type AlertStatus = "OPEN" | "ACKNOWLEDGED" | "CLOSED";

export interface FleetSummary {
  total_devices: number;
  online: number;
  stale: number;
  offline: number;
  alerts_open: number;
  alerts_acknowledged: number;
  alerts_new_1h: number;
  low_battery_threshold: number;
  low_battery_count: number;
  low_battery_devices: { device_id: string; site_id: string; battery_pct: number }[];
}

export interface Device {
  tenant_id: string;
  device_id: string;
  site_id: string;
  status: DeviceStatus | string;
  registry_status: string;
  name: string;
  device_type: string | null;
  last_seen_at: string | null;
  last_telemetry_at: string | null;
  last_state_change_at: string | null;
  state: Record<string, unknown>;
  model: string | null;
  tags: string[];
}

export interface DeviceList {
  devices: Device[];
  count: number;
  total: number;
  limit: number;
  offset: number;
}

export interface Alert {
  alert_id: number;
  tenant_id: string;
  device_id: string;
  site_id: string;
  alert_type: string;
  fingerprint: string;
  rule_id: string | null;
  status: AlertStatus | string;
  severity: number;
  summary: string;
  details: Record<string, unknown>;
  created_at: string;
  closed_at: string | null;
  silenced_until: string | null;
  acknowledged_by: string | null;
  acknowledged_at: string | null;
  escalation_level: number;
  escalated_at: string | null;
}

export interface AlertList {
  alerts: Alert[];
  count: number;
  total: number;
  limit: number;
  offset: number;
}

export interface AlertDetail {
  tenant_id: string;
  alert: Alert;
}

export interface AlertEvent {
  event: string;
  status: string;
  actor: string | null;
  details: Record<string, unknown>;
  created_at: string;
  level: number | null;
}

export interface AlertEvents {
  tenant_id: string;
  alert_id: number;
  events: AlertEvent[];
}

export interface Tenant {
  tenant_id: string;
  name: string;
  status: string;
  contact_email: string | null;
  contact_name: string | null;
  created_at: string;
  updated_at: string;
  deleted_at: string | null;
}

export interface TenantList {
  tenants: Tenant[];
  total: number;
  limit: number;
  offset: number;
}

/** GET /api/v2/devices/{id} and /customer/devices/{id}: the full registry record. */
export interface DeviceRecord extends Device {
  last_heartbeat_at: string | null;
  latitude: number | null;
  longitude: number | null;
  address: string | null;
  location_source: string | null;
  mac_address: string | null;
  imei: string | null;
  iccid: string | null;
  serial_number: string | null;
  manufacturer: string | null;
  hw_revision: string | null;
  fw_version: string | null;
  notes: string | null;
  metadata: Record<string, unknown>;
  provisioned: boolean;
  decommissioned_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface DeviceDetail {
  tenant_id: string;
  device: DeviceRecord;
}

export interface ChartColumns {
  avg: (number | null)[];
  min: (number | null)[];
  max: (number | null)[];
}

/** GET /api/v2/devices/{id}/chart: columnar rollups, one column per metric. */
export interface DeviceChart {
  device_id: string;
  bucket_seconds: number;
  start: string;
  end: string;
  timestamps: number[];
  series: Record<string, ChartColumns>;
}

export interface RawPoint {
  time: string;
  msg_type: string;
  seq: number | null;
  metrics: Record<string, unknown>;
}

export interface LatestTelemetry {
  device_id: string;
  telemetry: RawPoint[];
  count: number;
}

export interface DeviceToken {
  id: string;
  client_id: string;
  label: string;
  created_at: string;
  revoked_at: string | null;
}

export interface DeviceTokenList {
  device_id: string;
  tokens: DeviceToken[];
  total: number;
}

export interface NewDeviceToken {
  client_id: string;
  password: string;
  broker_url: string | null;
}
