import { formatAgo, formatTime } from "./time";

describe("times", () => {
  it("formats in the given zone and names the zone", () => {
    const text = formatTime("2026-03-01T12:00:00Z", "Asia/Tokyo", "en-GB");
    expect(text).toContain("21:00:00");
    expect(text).toMatch(/GMT\+9|JST/);
  });

  it("shows a dash for missing or broken times", () => {
    expect(formatTime(null)).toBe("—");
    expect(formatTime("not a date")).toBe("—");
  });

  it("says how long ago", () => {
    const now = Date.parse("2026-03-01T12:00:00Z");
    expect(formatAgo("2026-03-01T11:59:30Z", now)).toBe("30 s ago");
    expect(formatAgo("2026-03-01T09:00:00Z", now)).toBe("3 h ago");
    expect(formatAgo(null, now)).toBe("never");
  });
});
