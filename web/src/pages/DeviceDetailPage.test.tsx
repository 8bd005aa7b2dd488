import { render, screen } from "@testing-library/react";
import { MantineProvider } from "@mantine/core";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import { ApiError } from "../api/errors";
import { accessFromClaims } from "../auth/roles";
import { DeviceDetailPage } from "./DeviceDetailPage";

const session = { access: accessFromClaims({}) };
vi.mock("../auth/AuthProvider", () => ({ useSession: () => session }));
vi.mock("../components/MetricChart", () => ({
  default: ({ label }: { label: string }) => <div role="img" aria-label={label} />,
}));

const device = {
  tenant_id: "demo",
  device_id: "sim-1",
  site_id: "site-a",
  status: "ONLINE",
  registry_status: "ACTIVE",
  name: "sim-1",
  device_type: "sensor",
  last_seen_at: "2026-01-01T00:00:00Z",
  last_telemetry_at: "2026-01-01T00:00:00Z",
  last_state_change_at: null,
  state: {},
  model: null,
  tags: [],
};
const responses: Record<string, unknown> = {
  "/api/v2/devices/sim-1": { tenant_id: "demo", device },
  "/api/v2/devices/sim-1/chart?hours=24": {
    device_id: "sim-1",
    bucket_seconds: 60,
    start: "2026-01-01T00:00:00Z",
    end: "2026-01-02T00:00:00Z",
    timestamps: [1, 2],
    series: { temperature_c: { avg: [21, 22], min: [20, 21], max: [22, 23] } },
  },
  "/api/v2/devices/sim-1/telemetry/latest": {
    device_id: "sim-1",
    count: 1,
    telemetry: [{ time: "2026-01-01T00:00:00Z", msg_type: "telemetry", seq: 1, metrics: { temperature_c: 22.04 } }],
  },
  "/customer/alerts?status=ALL&device_id=sim-1&limit=50": { alerts: [], count: 0, total: 0, limit: 50, offset: 0 },
  "/customer/devices/sim-1/tokens": { device_id: "sim-1", tokens: [], total: 0 },
};
const api = vi.fn(async (path: string) => {
  if (path in responses) return responses[path];
  throw new ApiError(404, "not_found", "device not found");
});
vi.mock("../api/ApiProvider", () => ({ useApi: () => api }));

function renderAt(path: string) {
  return render(
    <MantineProvider>
      <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
        <MemoryRouter initialEntries={[path]}>
          <Routes>
            <Route path="/devices/:deviceId" element={<DeviceDetailPage />} />
          </Routes>
        </MemoryRouter>
      </QueryClientProvider>
    </MantineProvider>,
  );
}

const claims = (roles: string[]) => ({ realm_access: { roles }, tenant_id: "demo" });

describe("device detail page", () => {
  it("shows the chart and latest values, and write controls to a tenant admin", async () => {
    session.access = accessFromClaims(claims(["tenant-admin"]));
    renderAt("/devices/sim-1");
    expect(await screen.findByRole("img", { name: /^temperature_c over the last 24h/ })).toBeInTheDocument();
    expect(await screen.findByRole("cell", { name: "22.04" })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Edit" })).toBeInTheDocument();
    expect(await screen.findByRole("button", { name: "Rotate" })).toBeInTheDocument();
    expect(await screen.findByText("No alerts for this device")).toBeInTheDocument();
  });

  it("shows a read-only customer no write controls", async () => {
    session.access = accessFromClaims(claims(["customer"]));
    renderAt("/devices/sim-1");
    expect(await screen.findByText("No active tokens")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Edit" })).toBeNull();
    expect(screen.queryByRole("button", { name: "Rotate" })).toBeNull();
  });

  it("says so when the device does not exist", async () => {
    session.access = accessFromClaims(claims(["customer"]));
    renderAt("/devices/nope");
    expect(await screen.findByText("No device nope in this tenant")).toBeInTheDocument();
  });
});
