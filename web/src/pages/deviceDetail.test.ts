import type { DeviceChart, DeviceRecord } from "../api/types";
import { changedFields, chartMetrics, editValuesOf, formatValue, latestValues, numericMetrics, RANGES } from "./deviceDetail";

const chart = (series: DeviceChart["series"]): DeviceChart => ({
  device_id: "d",
  bucket_seconds: 60,
  start: "2026-01-01T00:00:00Z",
  end: "2026-01-01T01:00:00Z",
  timestamps: [1, 2],
  series,
});

describe("chartMetrics", () => {
  it("lists metrics with data, temperature first, and drops all-null columns", () => {
    const metrics = chartMetrics(
      chart({
        humidity_pct: { avg: [1, 2], min: [1, 2], max: [1, 2] },
        battery_pct: { avg: [null, null], min: [null, null], max: [null, null] },
        temperature_c: { avg: [null, 21.5], min: [null, 21], max: [null, 22] },
      }),
    );
    expect(metrics).toEqual(["temperature_c", "humidity_pct"]);
    expect(chartMetrics(undefined)).toEqual([]);
  });

  it("offers the ranges the API allows (1 to 720 hours)", () => {
    expect(RANGES.map((r) => r.label)).toEqual(["1h", "6h", "24h", "7d", "30d"]);
    expect(Math.max(...RANGES.map((r) => Number(r.value)))).toBe(720);
  });
});

describe("latestValues", () => {
  const fetched = {
    device_id: "d",
    count: 1,
    telemetry: [{ time: "2026-01-01T00:00:00Z", msg_type: "telemetry", seq: 1, metrics: { temperature_c: 20, rssi: -60 } }],
  };

  it("takes a newer live message over the fetched point", () => {
    const latest = latestValues(fetched, { timestamp: "2026-01-01T00:00:05Z", metrics: { temperature_c: 22.25 } });
    expect(latest.at).toBe("2026-01-01T00:00:05Z");
    expect(latest.metrics).toEqual([
      ["rssi", -60],
      ["temperature_c", 22.25],
    ]);
  });

  it("ignores a live message older than the fetched point", () => {
    const latest = latestValues(fetched, { timestamp: "2025-12-31T23:00:00Z", metrics: { temperature_c: 1 } });
    expect(latest.metrics).toContainEqual(["temperature_c", 20]);
  });

  it("is empty with nothing reported", () => {
    expect(latestValues(undefined, null)).toEqual({ at: null, metrics: [] });
  });
});

describe("formatValue", () => {
  it("rounds decimals and shows other values readably", () => {
    expect(formatValue(21.456)).toBe("21.46");
    expect(formatValue(3)).toBe("3");
    expect(formatValue(true)).toBe("true");
    expect(formatValue(null)).toBe("—");
    expect(formatValue({ a: 1 })).toBe('{"a":1}');
  });
});

describe("changedFields", () => {
  const device = {
    name: "Boiler",
    device_type: "sensor",
    model: "Boiler",
    manufacturer: null,
    serial_number: "S1",
    fw_version: null,
    hw_revision: null,
    address: null,
    notes: null,
  } as unknown as DeviceRecord;

  it("sends only what changed, a cleared field as null", () => {
    const values = { ...editValuesOf(device), manufacturer: " Acme ", serial_number: "" };
    expect(changedFields(device, values)).toEqual({ manufacturer: "Acme", serial_number: null });
  });

  it("sends nothing when nothing changed", () => {
    expect(changedFields(device, editValuesOf(device))).toEqual({});
  });
});

describe("numericMetrics", () => {
  it("names the numeric metrics to chart before any rollup exists", () => {
    const latest = latestValues(undefined, { timestamp: "2026-01-01T00:00:00Z", metrics: { t: 1.5, door: "open", rssi: -70 } });
    expect(numericMetrics(latest)).toEqual(["rssi", "t"]);
  });
});
