import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MantineProvider } from "@mantine/core";
import type { Alert } from "../api/types";
import { AlertRow } from "./AlertRow";

const alert: Alert = {
  alert_id: 3,
  tenant_id: "demo",
  device_id: "sim-1",
  site_id: "s",
  alert_type: "THRESHOLD",
  fingerprint: "f",
  rule_id: null,
  status: "OPEN",
  severity: 4,
  summary: "temperature_c 22 > 15",
  details: {},
  created_at: new Date().toISOString(),
  closed_at: null,
  silenced_until: null,
  acknowledged_by: null,
  acknowledged_at: null,
  escalation_level: 0,
  escalated_at: null,
};

describe("alert row", () => {
  it("offers acknowledge to those who may, and calls back with the alert id", async () => {
    const acknowledged: number[] = [];
    render(
      <MantineProvider>
        <AlertRow alert={alert} onAcknowledge={(id) => acknowledged.push(id)} />
      </MantineProvider>,
    );
    await userEvent.click(screen.getByRole("button", { name: /acknowledge alert 3/i }));
    expect(acknowledged).toEqual([3]);
  });

  it("has no write control for a read-only user", () => {
    render(
      <MantineProvider>
        <AlertRow alert={alert} />
      </MantineProvider>,
    );
    expect(screen.queryByRole("button")).toBeNull();
    expect(screen.getByText("temperature_c 22 > 15")).toBeInTheDocument();
  });
});
