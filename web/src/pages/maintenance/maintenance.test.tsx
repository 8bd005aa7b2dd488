import { render, screen } from "@testing-library/react";
import { MantineProvider } from "@mantine/core";
import { ApiError } from "../../api/errors";
import { describeRecurrence, isActiveNow, readableDetail, type MaintenanceWindow } from "../../api/maintenance";
import { SaveError } from "../MaintenancePage";
import { bodyOf, formOf, newForm } from "./windowForm";

const base: MaintenanceWindow = {
  window_id: "mw-1",
  name: "Night works",
  starts_at: "2026-12-01T00:00:00Z",
  ends_at: null,
  recurring: null,
  timezone: "UTC",
  site_ids: null,
  device_types: null,
  group_ids: null,
  enabled: true,
  created_at: "2026-12-01T00:00:00Z",
};

describe("active now", () => {
  const now = new Date("2026-12-02T13:30:00Z"); // a Wednesday

  it("covers one-off windows between start and end, when enabled", () => {
    expect(isActiveNow({ ...base, ends_at: "2026-12-02T14:00:00Z" }, now)).toBe(true);
    expect(isActiveNow({ ...base, ends_at: "2026-12-02T13:30:00Z" }, now)).toBe(false);
    expect(isActiveNow({ ...base, starts_at: "2026-12-02T13:31:00Z" }, now)).toBe(false);
    expect(isActiveNow({ ...base, enabled: false }, now)).toBe(false);
  });

  it("reads weekly windows in their own time zone", () => {
    const weekly = { ...base, recurring: { dow: [3], start_hour: 13, end_hour: 14 } };
    expect(isActiveNow(weekly, now)).toBe(true);
    // 13:30 UTC is 22:30 in Tokyo on Wednesday
    expect(isActiveNow({ ...weekly, timezone: "Asia/Tokyo" }, now)).toBe(false);
    expect(isActiveNow({ ...weekly, timezone: "Asia/Tokyo", recurring: { dow: [3], start_hour: 22, end_hour: 24 } }, now)).toBe(true);
    expect(isActiveNow({ ...weekly, recurring: { dow: [1, 2], start_hour: 0, end_hour: 24 } }, now)).toBe(false);
    // a stored window that wraps midnight (the evaluator honours it)
    expect(isActiveNow({ ...weekly, recurring: { dow: [3], start_hour: 22, end_hour: 14 } }, now)).toBe(true);
  });

  it("describes a recurrence", () => {
    expect(describeRecurrence({ dow: [5, 1], start_hour: 22, end_hour: 24 })).toBe("Mon, Fri, 22:00–24:00");
    expect(describeRecurrence({})).toBe("Every day, 00:00–24:00");
  });
});

describe("window form", () => {
  it("starts as a one-off window for the next hour and round-trips", () => {
    const form = { ...newForm(new Date("2026-12-02T13:30:45Z"), "Europe/London"), name: " Swap pumps ", sites: "site-1, site-2" };
    const result = bodyOf(form);
    if (!("body" in result)) throw new Error(result.problem);
    expect(result.body.name).toBe("Swap pumps");
    expect(new Date(result.body.ends_at!).getTime() - new Date(result.body.starts_at).getTime()).toBe(3600_000);
    expect(result.body.recurring).toBeNull();
    expect(result.body.site_ids).toEqual(["site-1", "site-2"]);
    expect(result.body.group_ids).toBeNull();
    const again = formOf({ ...base, ...result.body, window_id: "x", created_at: base.created_at });
    expect(again.starts).toBe(form.starts);
    expect(again.kind).toBe("once");
  });

  it("sends weekly windows with their days and hours and refuses an empty name", () => {
    const form = { ...newForm(new Date(), "UTC"), name: "w", kind: "weekly" as const, dow: [5, 1], ends: "" };
    const result = bodyOf(form);
    expect("body" in result && result.body.recurring).toEqual({ dow: [1, 5], start_hour: 22, end_hour: 24 });
    expect(bodyOf({ ...form, name: "  " })).toEqual({ problem: "Give the window a name." });
  });

  it("shows the API's validation detail in words", () => {
    const detail = JSON.stringify([
      { loc: ["body", "recurring"], msg: "Value error, end_hour must be after start_hour", type: "value_error" },
    ]);
    expect(readableDetail(detail)).toBe("recurring: Value error, end_hour must be after start_hour");
    render(
      <MantineProvider>
        <SaveError title="Could not save the window" error={new ApiError(422, "invalid_request", detail)} />
      </MantineProvider>,
    );
    expect(screen.getByRole("alert")).toHaveTextContent("recurring: Value error, end_hour must be after start_hour");
  });
});
