/** The maintenance window form's state and its conversion to and from the API's shapes. */
import type { MaintenanceWindow, WindowBody } from "../../api/maintenance";

export interface WindowForm {
  name: string;
  kind: "once" | "weekly";
  /** datetime-local values, in the browser's time zone */
  starts: string;
  ends: string;
  dow: number[];
  startHour: number;
  endHour: number;
  timezone: string;
  sites: string;
  deviceTypes: string;
  groups: string;
  enabled: boolean;
}

const pad = (n: number) => String(n).padStart(2, "0");

/** A Date as a datetime-local value (local time, minutes). */
export function toLocalInput(date: Date): string {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

function fromLocalInput(value: string): string | null {
  if (!value) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

const list = (text: string): string[] | null => {
  const items = text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  return items.length ? items : null;
};

/** A new window: one-off, from this minute for an hour, everywhere. */
export function newForm(now: Date, timeZone: string): WindowForm {
  const start = new Date(now);
  start.setSeconds(0, 0);
  return {
    name: "",
    kind: "once",
    starts: toLocalInput(start),
    ends: toLocalInput(new Date(start.getTime() + 3600_000)),
    dow: [1, 2, 3, 4, 5],
    startHour: 22,
    endHour: 24,
    timezone: timeZone,
    sites: "",
    deviceTypes: "",
    groups: "",
    enabled: true,
  };
}

export function formOf(w: MaintenanceWindow): WindowForm {
  const r = w.recurring && Object.keys(w.recurring).length ? w.recurring : null;
  return {
    name: w.name,
    kind: r ? "weekly" : "once",
    starts: toLocalInput(new Date(w.starts_at)),
    ends: w.ends_at ? toLocalInput(new Date(w.ends_at)) : "",
    dow: r?.dow ?? [0, 1, 2, 3, 4, 5, 6],
    startHour: r?.start_hour ?? 0,
    endHour: r?.end_hour ?? 24,
    timezone: w.timezone,
    sites: (w.site_ids ?? []).join(", "),
    deviceTypes: (w.device_types ?? []).join(", "),
    groups: (w.group_ids ?? []).join(", "),
    enabled: w.enabled,
  };
}

/** The body to send, or the first problem the API would refuse anyway, in words. */
export function bodyOf(form: WindowForm): { body: WindowBody } | { problem: string } {
  const name = form.name.trim();
  if (!name) return { problem: "Give the window a name." };
  const starts = fromLocalInput(form.starts);
  if (!starts) return { problem: form.kind === "once" ? "Choose when the window starts." : "Choose from when the window applies." };
  const ends = fromLocalInput(form.ends);
  if (form.kind === "once" && !ends) return { problem: "Choose when the window ends." };
  if (form.kind === "weekly" && form.dow.length === 0) return { problem: "Choose at least one day." };
  return {
    body: {
      name,
      starts_at: starts,
      ends_at: ends,
      recurring:
        form.kind === "weekly"
          ? { dow: [...form.dow].sort((a, b) => a - b), start_hour: form.startHour, end_hour: form.endHour }
          : null,
      timezone: form.timezone.trim() || "UTC",
      site_ids: list(form.sites),
      device_types: list(form.deviceTypes),
      group_ids: list(form.groups),
      enabled: form.enabled,
    },
  };
}
