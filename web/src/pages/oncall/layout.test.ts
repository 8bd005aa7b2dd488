import type { Slot } from "../../api/oncall";
import { dayTicks, describeRotation, fromLocalInput, layoutGaps, layoutRows, overrideProblem, toLocalInput } from "./layout";

const slot = (responder: string, start: string, end: string, is_override = false): Slot => ({
  responder,
  start,
  end,
  layer_name: is_override ? "Override" : "Weekly",
  is_override,
  user_id: `${responder}-id`,
});

describe("on-call timeline layout", () => {
  const start = "2026-01-01T00:00:00Z";
  const end = "2026-01-11T00:00:00Z"; // 10 days

  it("puts one row per responder, bars as percentages, clipped to the range", () => {
    const rows = layoutRows(
      [
        slot("zed", "2026-01-06T00:00:00Z", "2026-01-13T00:00:00Z"),
        slot("amy", "2025-12-30T00:00:00Z", "2026-01-06T00:00:00Z"),
        slot("amy", "2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z", true),
        slot("gone", "2025-12-01T00:00:00Z", "2025-12-02T00:00:00Z"),
      ],
      start,
      end,
    );
    expect(rows.map((r) => r.responder)).toEqual(["amy", "zed"]);
    expect(rows[0]!.bars.map((b) => [b.left, b.width])).toEqual([
      [0, 50],
      [10, 10],
    ]);
    expect(rows[0]!.bars[1]!.slot.is_override).toBe(true);
    expect(rows[1]!.bars[0]).toMatchObject({ left: 50, width: 50 });
  });

  it("places gaps and drops empty ones", () => {
    const spans = layoutGaps(
      [
        { start: "2026-01-10T00:00:00Z", end: "2026-01-12T00:00:00Z" },
        { start: "2026-01-05T00:00:00Z", end: "2026-01-05T00:00:00Z" },
      ],
      start,
      end,
    );
    expect(spans).toHaveLength(1);
    expect(spans[0]).toMatchObject({ left: 90, width: 10 });
  });

  it("ticks at local midnights inside the range", () => {
    const ticks = dayTicks("2026-03-01T10:00:00", "2026-03-04T10:00:00");
    expect(ticks.map((t) => t.date.getDate())).toEqual([2, 3, 4]);
    expect(ticks.every((t) => t.left > 0 && t.left < 100)).toBe(true);
  });
});

describe("override form", () => {
  it("round-trips datetime-local values in the user's zone", () => {
    const date = new Date(2026, 4, 7, 13, 45);
    expect(toLocalInput(date)).toBe("2026-05-07T13:45");
    expect(fromLocalInput("2026-05-07T13:45")).toBe(date.toISOString());
    expect(fromLocalInput("")).toBeNull();
  });

  it("explains what is missing", () => {
    expect(overrideProblem("", "2026-05-07T13:45", "2026-05-07T14:45")).toMatch(/who/);
    expect(overrideProblem("u", "", "2026-05-07T14:45")).toMatch(/start and an end/);
    expect(overrideProblem("u", "2026-05-07T13:45", "2026-05-07T13:00")).toMatch(/after the start/);
    expect(overrideProblem("u", "2026-05-07T13:45", "2026-05-07T14:45")).toBeNull();
  });
});

it("describes rotations", () => {
  expect(describeRotation({ rotation: "weekly", shift_hours: null, handoff_time: "09:00", handoff_weekday: 0 })).toBe(
    "Weekly, hands off Mondays at 09:00",
  );
  expect(describeRotation({ rotation: "hourly", shift_hours: 8, handoff_time: "06:00", handoff_weekday: null })).toBe(
    "Every 8 hours, from 06:00",
  );
});
