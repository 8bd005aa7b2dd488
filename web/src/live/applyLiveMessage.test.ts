import { QueryClient } from "@tanstack/react-query";
import { keys } from "../api/queries";
import type { Device } from "../api/types";
import { applyLiveMessage } from "./applyLiveMessage";

const device = (id: string, status: string): Device => ({
  tenant_id: "demo",
  device_id: id,
  site_id: "site",
  status,
  registry_status: "ACTIVE",
  name: id,
  device_type: null,
  last_seen_at: "2026-01-01T00:00:00Z",
  last_telemetry_at: null,
  last_state_change_at: null,
  state: {},
  model: null,
  tags: [],
});

describe("live messages into the query cache", () => {
  it("updates devices in place and refetches counts when a status changes", () => {
    const client = new QueryClient();
    const filter = { q: "", status: "" as const };
    client.setQueryData(keys.deviceList(filter), [device("a", "ONLINE"), device("b", "ONLINE")]);
    client.setQueryData(keys.fleetSummary, { online: 2 });
    applyLiveMessage(client, {
      type: "device_state",
      devices: [{ device_id: "b", site_id: "site", status: "STALE", last_seen_at: "2026-01-01T00:05:00Z", last_state_change_at: null }],
    });
    const devices = client.getQueryData<Device[]>(keys.deviceList(filter))!;
    expect(devices.map((d) => d.status)).toEqual(["ONLINE", "STALE"]);
    expect(client.getQueryState(keys.fleetSummary)?.isInvalidated).toBe(true);
  });

  it("updates an open device detail in place, without mapping it as a list", () => {
    const client = new QueryClient();
    client.setQueryData(keys.deviceList({ q: "", status: "" }), [device("b", "ONLINE")]);
    client.setQueryData(keys.device("b"), { tenant_id: "demo", device: device("b", "ONLINE") });
    applyLiveMessage(client, {
      type: "device_state",
      devices: [{ device_id: "b", site_id: "site", status: "OFFLINE", last_seen_at: "2026-01-01T00:05:00Z", last_state_change_at: "2026-01-01T00:06:00Z" }],
    });
    const detail = client.getQueryData<{ device: Device }>(keys.device("b"))!;
    expect(detail.device.status).toBe("OFFLINE");
    expect(detail.device.last_state_change_at).toBe("2026-01-01T00:06:00Z");
  });

  it("keeps the latest telemetry per device", () => {
    const client = new QueryClient();
    client.setQueryData(keys.deviceList({ q: "", status: "" }), [device("a", "ONLINE")]);
    applyLiveMessage(client, {
      type: "telemetry",
      device_id: "a",
      data: { timestamp: "2026-01-01T00:01:00Z", metrics: { temperature_c: 22.5 } },
    });
    expect(client.getQueryData(keys.liveTelemetry("a"))).toEqual({
      timestamp: "2026-01-01T00:01:00Z",
      metrics: { temperature_c: 22.5 },
    });
    expect(client.getQueryData<Device[]>(keys.deviceList({ q: "", status: "" }))![0]!.state).toEqual({ temperature_c: 22.5 });
  });

  it("refetches alert lists, counts and the touched timelines on an alert event", () => {
    const client = new QueryClient();
    client.setQueryData(keys.alertList("OPEN"), { alerts: [] });
    client.setQueryData(keys.alertEvents(7), { events: [] });
    client.setQueryData(keys.alertEvents(8), { events: [] });
    applyLiveMessage(client, { type: "alerts", alerts: [{ alert_id: 7, event: "OPEN" }] });
    expect(client.getQueryState(keys.alertList("OPEN"))?.isInvalidated).toBe(true);
    expect(client.getQueryState(keys.alertEvents(7))?.isInvalidated).toBe(true);
    expect(client.getQueryState(keys.alertEvents(8))?.isInvalidated).toBe(false);
  });
});
