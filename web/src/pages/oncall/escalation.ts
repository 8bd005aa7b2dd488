import type { Target } from "../../api/oncall";

const KIND: Record<Target["type"], string> = { schedule: "On-call schedule", user: "User", channel: "Channel" };

/** "On-call schedule: Plant on-call"; a deleted target says so. */
export function targetLabel(target: Target): string {
  const kind = KIND[target.type] ?? target.type;
  return target.name ? `${kind}: ${target.name}` : `${kind} ${String(target.id)} (no longer exists)`;
}

function minutes(n: number): string {
  if (n % 60 === 0 && n >= 60) {
    const h = n / 60;
    return `${h} h`;
  }
  return `${n} min`;
}

/** Level 1 counts from the alert opening, the others from the previous level. */
export function describeDelay(levelNumber: number, delayMinutes: number): string {
  const from = levelNumber <= 1 ? "the alert opens" : "the previous level";
  return delayMinutes === 0 ? `As soon as ${from === "the alert opens" ? "the alert opens" : "the previous level fires"}` : `${minutes(delayMinutes)} after ${from}${levelNumber <= 1 ? "" : " fires"}`;
}
