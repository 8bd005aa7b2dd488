import type { Policy, PolicyWrite, Target } from "../../api/oncall";

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

export interface DraftLevel {
  delay: string; // minutes, as typed
  targets: Target[];
}

export interface PolicyDraft {
  name: string;
  description: string;
  isDefault: boolean;
  repeat: string;
  levels: DraftLevel[];
}

export function emptyDraft(): PolicyDraft {
  return { name: "", description: "", isDefault: false, repeat: "0", levels: [{ delay: "0", targets: [] }] };
}

export function draftFromPolicy(policy: Policy): PolicyDraft {
  return {
    name: policy.name,
    description: policy.description ?? "",
    isDefault: policy.is_default,
    repeat: String(policy.repeat_count),
    levels: [...policy.levels]
      .sort((a, b) => a.level_number - b.level_number)
      .map((level) => ({ delay: String(level.delay_minutes), targets: level.targets })),
  };
}

const wholeIn = (value: string, min: number, max: number) => /^\d+$/.test(value.trim()) && Number(value) >= min && Number(value) <= max;

/** Why the draft cannot be saved yet, or null. The API checks again (and names unknown targets). */
export function draftProblem(draft: PolicyDraft): string | null {
  if (!draft.name.trim()) return "Give the policy a name.";
  if (!wholeIn(draft.repeat, 0, 10)) return "Repeat must be a whole number from 0 to 10.";
  if (draft.levels.length === 0) return "Add at least one level.";
  for (const [i, level] of draft.levels.entries()) {
    if (!wholeIn(level.delay, 0, 10080)) return `Level ${i + 1}: the delay must be 0 to 10080 minutes.`;
    if (level.targets.length === 0) return `Level ${i + 1}: add at least one target.`;
  }
  return null;
}

export function draftToWrite(draft: PolicyDraft): PolicyWrite {
  return {
    name: draft.name.trim(),
    description: draft.description.trim() || null,
    is_default: draft.isDefault,
    repeat_count: Number(draft.repeat),
    levels: draft.levels.map((level) => ({
      delay_minutes: Number(level.delay),
      targets: level.targets.map((t) => ({ type: t.type, id: t.id })),
    })),
  };
}
