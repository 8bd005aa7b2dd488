/** The device detail page's logic, kept free of React so it is unit-tested. */
import type { DeviceChart, DeviceRecord, LatestTelemetry } from "../api/types";

export const RANGES = [
  { value: "1", label: "1h" },
  { value: "6", label: "6h" },
  { value: "24", label: "24h" },
  { value: "168", label: "7d" },
  { value: "720", label: "30d" },
] as const;

/** Metric names of a chart that have at least one value, sorted; temperature first when present. */
export function chartMetrics(chart: DeviceChart | undefined): string[] {
  if (!chart) return [];
  return Object.entries(chart.series)
    .filter(([, columns]) => columns.avg.some((v) => v !== null))
    .map(([name]) => name)
    .sort((a, b) => (a === "temperature_c" ? -1 : b === "temperature_c" ? 1 : a.localeCompare(b)));
}

/** Numeric metrics of the latest values (at most 20, the chart API's limit): what to chart when the
 * device has no rollups yet. */
export function numericMetrics(latest: LatestValues): string[] {
  return latest.metrics
    .filter(([, value]) => typeof value === "number")
    .map(([name]) => name)
    .slice(0, 20);
}

export interface LatestValues {
  at: string | null;
  metrics: [string, unknown][];
}

/** The newest metrics: the live feed's message when it is newer than the fetched latest point. */
export function latestValues(
  fetched: LatestTelemetry | undefined,
  live: { timestamp?: string | null; metrics?: Record<string, unknown> } | null | undefined,
): LatestValues {
  const point = fetched?.telemetry[0];
  let at = point?.time ?? null;
  let metrics: Record<string, unknown> = point?.metrics ?? {};
  if (live?.metrics && (!at || !live.timestamp || Date.parse(live.timestamp) >= Date.parse(at))) {
    at = live.timestamp ?? at;
    metrics = { ...metrics, ...live.metrics };
  }
  return { at, metrics: Object.entries(metrics).sort(([a], [b]) => a.localeCompare(b)) };
}

export function formatValue(value: unknown): string {
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toFixed(2);
  if (typeof value === "boolean") return value ? "true" : "false";
  if (value === null || value === undefined) return "—";
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** Fields a tenant admin edits here (DeviceUpdate in the OpenAPI). No separate `model`: the API stores
 * the name as the model, so both in one form would overwrite each other. */
export const EDITABLE_FIELDS = [
  { key: "name", label: "Name" },
  { key: "device_type", label: "Type" },
  { key: "manufacturer", label: "Manufacturer" },
  { key: "serial_number", label: "Serial number" },
  { key: "fw_version", label: "Firmware version" },
  { key: "hw_revision", label: "Hardware revision" },
  { key: "address", label: "Address" },
  { key: "notes", label: "Notes" },
] as const;

export type EditableKey = (typeof EDITABLE_FIELDS)[number]["key"];
export type EditValues = Record<EditableKey, string>;

export function editValuesOf(device: DeviceRecord): EditValues {
  const values = {} as EditValues;
  for (const { key } of EDITABLE_FIELDS) values[key] = (device[key] as string | null) ?? "";
  return values;
}

/** Only the changed fields; a cleared optional field is sent as null (the API clears it). */
export function changedFields(device: DeviceRecord, values: EditValues): Record<string, string | null> {
  const original = editValuesOf(device);
  const changes: Record<string, string | null> = {};
  for (const { key } of EDITABLE_FIELDS) {
    const value = values[key].trim();
    if (value === original[key].trim()) continue;
    changes[key] = value === "" ? null : value;
  }
  return changes;
}
