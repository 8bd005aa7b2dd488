/** Pure geometry of the on-call timeline drawing: one row per responder, bars as percentages of the
 * range, gaps as their own row, and day ticks at local midnights (the user's zone). */
import type { Gap, Slot } from "../../api/oncall";

export interface Bar {
  left: number; // percent of the range
  width: number; // percent of the range
  slot: Slot;
}

export interface Row {
  responder: string;
  bars: Bar[];
}

export interface Span {
  left: number;
  width: number;
  start: string;
  end: string;
}

function place(startIso: string, endIso: string, rangeStart: number, rangeEnd: number) {
  const total = rangeEnd - rangeStart;
  if (total <= 0) return null;
  const s = Math.max(new Date(startIso).getTime(), rangeStart);
  const e = Math.min(new Date(endIso).getTime(), rangeEnd);
  if (!(e > s)) return null;
  return { left: ((s - rangeStart) / total) * 100, width: ((e - s) / total) * 100 };
}

/** Rows sorted by responder name; bars clipped to the range; slots outside it dropped. */
export function layoutRows(slots: Slot[], rangeStartIso: string, rangeEndIso: string): Row[] {
  const rangeStart = new Date(rangeStartIso).getTime();
  const rangeEnd = new Date(rangeEndIso).getTime();
  const rows = new Map<string, Row>();
  for (const slot of slots) {
    const placed = place(slot.start, slot.end, rangeStart, rangeEnd);
    if (!placed) continue;
    const name = slot.responder || "(unknown)";
    let row = rows.get(name);
    if (!row) {
      row = { responder: name, bars: [] };
      rows.set(name, row);
    }
    row.bars.push({ ...placed, slot });
  }
  return [...rows.values()]
    .map((row) => ({ ...row, bars: row.bars.sort((a, b) => a.left - b.left) }))
    .sort((a, b) => a.responder.localeCompare(b.responder));
}

export function layoutGaps(gaps: Gap[], rangeStartIso: string, rangeEndIso: string): Span[] {
  const rangeStart = new Date(rangeStartIso).getTime();
  const rangeEnd = new Date(rangeEndIso).getTime();
  const spans: Span[] = [];
  for (const gap of gaps) {
    const placed = place(gap.start, gap.end, rangeStart, rangeEnd);
    if (placed) spans.push({ ...placed, start: gap.start, end: gap.end });
  }
  return spans;
}

/** Local midnights (in the runtime's zone, i.e. the user's) strictly inside the range. */
export function dayTicks(rangeStartIso: string, rangeEndIso: string): { left: number; date: Date }[] {
  const rangeStart = new Date(rangeStartIso).getTime();
  const rangeEnd = new Date(rangeEndIso).getTime();
  const ticks: { left: number; date: Date }[] = [];
  if (!(rangeEnd > rangeStart)) return ticks;
  const day = new Date(rangeStart);
  day.setHours(0, 0, 0, 0);
  for (let i = 0; i < 400; i++) {
    day.setDate(day.getDate() + 1);
    const t = day.getTime();
    if (t >= rangeEnd) break;
    if (t > rangeStart) ticks.push({ left: ((t - rangeStart) / (rangeEnd - rangeStart)) * 100, date: new Date(t) });
  }
  return ticks;
}

/** A value for <input type="datetime-local"> (the user's zone), to the minute. */
export function toLocalInput(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** The instant a datetime-local value names (in the user's zone), as ISO 8601; null if invalid. */
export function fromLocalInput(value: string): string | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(value)) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/** Why an override form cannot be sent yet, or null when it can. */
export function overrideProblem(userId: string, start: string, end: string): string | null {
  if (!userId) return "Choose who covers.";
  const s = fromLocalInput(start);
  const e = fromLocalInput(end);
  if (!s || !e) return "Enter a start and an end.";
  if (new Date(e) <= new Date(s)) return "The end must be after the start.";
  return null;
}

const WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

/** "Weekly, Mondays at 09:00" — the handoff in the schedule's own zone. */
export function describeRotation(layer: {
  rotation: string;
  shift_hours: number | null;
  handoff_time: string;
  handoff_weekday: number | null;
}): string {
  if (layer.rotation === "weekly") {
    const day = layer.handoff_weekday !== null ? WEEKDAYS[layer.handoff_weekday] : undefined;
    return day ? `Weekly, hands off ${day}s at ${layer.handoff_time}` : `Weekly, hands off at ${layer.handoff_time}`;
  }
  if (layer.rotation === "daily") return `Daily, hands off at ${layer.handoff_time}`;
  if (layer.rotation === "hourly")
    return `Every ${layer.shift_hours ?? 1} hour${layer.shift_hours === 1 ? "" : "s"}, from ${layer.handoff_time}`;
  return layer.rotation;
}
