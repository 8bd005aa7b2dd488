import { render, screen } from "@testing-library/react";
import { MantineProvider } from "@mantine/core";
import { MemoryRouter } from "react-router-dom";
import type { Device } from "../api/types";
import { VirtualDeviceTable } from "./DevicesPage";

const fleet: Device[] = Array.from({ length: 10_000 }, (_, i) => ({
  tenant_id: "demo",
  device_id: `dev-${String(i).padStart(5, "0")}`,
  site_id: "site",
  status: "ONLINE",
  registry_status: "ACTIVE",
  name: `dev-${i}`,
  device_type: null,
  last_seen_at: null,
  last_telemetry_at: null,
  last_state_change_at: null,
  state: {},
  model: null,
  tags: [],
}));

describe("device table", () => {
  it("keeps only a window of a 10,000-device fleet in the DOM", () => {
    // jsdom has no layout: a 600 px viewport (clientHeight) of 44 px rows
    vi.spyOn(HTMLElement.prototype, "clientHeight", "get").mockReturnValue(600);
    vi.spyOn(HTMLElement.prototype, "offsetHeight", "get").mockReturnValue(44);
    vi.spyOn(HTMLElement.prototype, "clientWidth", "get").mockReturnValue(1000);
    render(
      <MantineProvider>
        <MemoryRouter>
          <VirtualDeviceTable devices={fleet} />
        </MemoryRouter>
      </MantineProvider>,
    );
    const table = screen.getByRole("table", { name: "Devices" });
    expect(table).toHaveAttribute("aria-rowcount", "10001");
    const rows = screen.getAllByRole("row");
    expect(rows.length).toBeGreaterThan(1);
    expect(rows.length).toBeLessThan(60);
    expect(screen.getByRole("link", { name: "dev-00000" })).toHaveAttribute("href", "/devices/dev-00000");
    expect(screen.queryByText("dev-09999")).toBeNull();
    vi.restoreAllMocks();
  });
});
