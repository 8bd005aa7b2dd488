/** Maintenance windows (/customer/maintenance-windows): periods in which matching alerts are
 * suppressed. `isActiveNow` mirrors the evaluator (pulse/evaluator/maintenance.py). */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useApi } from "./ApiProvider";

export interface Recurrence {
  dow?: number[];
  start_hour?: number;
  end_hour?: number;
}

export interface MaintenanceWindow {
  window_id: string;
  name: string;
  starts_at: string;
  ends_at: string | null;
  recurring: Recurrence | null;
  timezone: string;
  site_ids: string[] | null;
  device_types: string[] | null;
  group_ids: string[] | null;
  enabled: boolean;
  created_at: string;
}

export interface WindowList {
  windows: MaintenanceWindow[];
  total: number;
  limit: number;
  offset: number;
}

export interface WindowBody {
  name: string;
  starts_at: string;
  ends_at: string | null;
  recurring: { dow: number[]; start_hour: number; end_hour: number } | null;
  timezone: string;
  site_ids: string[] | null;
  device_types: string[] | null;
  group_ids: string[] | null;
  enabled: boolean;
}

export const DAY_NAMES = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const EVERY_DAY = [0, 1, 2, 3, 4, 5, 6];

/** Day of week (0 = Sunday) and hour of `at` in an IANA zone. */
export function localDayHour(at: Date, timeZone: string): { dow: number; hour: number } {
  const parts = new Intl.DateTimeFormat("en-US", { timeZone, weekday: "short", hour: "numeric", hourCycle: "h23" }).formatToParts(at);
  const weekday = parts.find((p) => p.type === "weekday")?.value ?? "Sun";
  const hour = Number(parts.find((p) => p.type === "hour")?.value ?? "0") % 24;
  return { dow: Math.max(0, DAY_NAMES.indexOf(weekday)), hour };
}

/** Whether the window suppresses alerts at `now` (ignoring its scope), as the evaluator decides. */
export function isActiveNow(window: MaintenanceWindow, now: Date = new Date()): boolean {
  if (!window.enabled) return false;
  if (now < new Date(window.starts_at)) return false;
  if (window.ends_at && now >= new Date(window.ends_at)) return false;
  const r = window.recurring;
  if (!r || Object.keys(r).length === 0) return true;
  let local;
  try {
    local = localDayHour(now, window.timezone || "UTC");
  } catch {
    return false; // an unknown zone: the evaluator skips the window
  }
  const dow = r.dow ?? EVERY_DAY;
  const start = r.start_hour ?? 0;
  const end = r.end_hour ?? 24;
  if (!dow.includes(local.dow)) return false;
  if (start <= end) return start <= local.hour && local.hour < end;
  return local.hour >= start || local.hour < end;
}

const pad = (n: number) => String(n).padStart(2, "0");

/** "Mon–Fri 22:00–24:00" style text for a recurrence. */
export function describeRecurrence(r: Recurrence): string {
  const dow = [...(r.dow ?? EVERY_DAY)].sort((a, b) => a - b);
  const days = dow.length === 7 ? "Every day" : dow.map((d) => DAY_NAMES[d] ?? `day ${d}`).join(", ");
  return `${days}, ${pad(r.start_hour ?? 0)}:00–${pad(r.end_hour ?? 24)}:00`;
}

/** The API's error detail in words: a 422's list of field errors becomes "field: message; …". */
export function readableDetail(detail: string): string {
  try {
    const parsed: unknown = JSON.parse(detail);
    if (Array.isArray(parsed)) {
      return parsed
        .map((e: { loc?: unknown[]; msg?: string }) => {
          const loc = (e.loc ?? []).filter((p) => p !== "body").join(".");
          return loc ? `${loc}: ${e.msg ?? ""}` : (e.msg ?? "");
        })
        .join("; ");
    }
  } catch {
    // plain text
  }
  return detail;
}

const KEY = ["maintenance-windows"] as const;

export function useMaintenanceWindows() {
  const api = useApi();
  return useQuery({ queryKey: KEY, queryFn: () => api<WindowList>("/customer/maintenance-windows?limit=500") });
}

export function useSaveWindow() {
  const api = useApi();
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ windowId, body }: { windowId: string | null; body: Partial<WindowBody> }) =>
      windowId === null
        ? api<MaintenanceWindow>("/customer/maintenance-windows", { method: "POST", body })
        : api<MaintenanceWindow>(`/customer/maintenance-windows/${encodeURIComponent(windowId)}`, { method: "PATCH", body }),
    onSuccess: () => client.invalidateQueries({ queryKey: KEY }),
  });
}

export function useDeleteWindow() {
  const api = useApi();
  const client = useQueryClient();
  return useMutation({
    mutationFn: (windowId: string) =>
      api<void>(`/customer/maintenance-windows/${encodeURIComponent(windowId)}`, { method: "DELETE" }),
    onSuccess: () => client.invalidateQueries({ queryKey: KEY }),
  });
}
