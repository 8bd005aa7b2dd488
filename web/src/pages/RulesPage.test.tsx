import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MantineProvider } from "@mantine/core";
import { ApiError } from "../api/errors";
import type { BacktestResult } from "../api/rules";
import { ApiErrorAlert, BacktestAnswer } from "./RulesPage";

const result: BacktestResult = {
  start: "2026-12-01T12:00:00Z",
  end: "2026-12-02T12:00:00Z",
  source: "rollup_1m",
  exact: false,
  approximations: ["per-minute rollup: durations are resolved to the minute"],
  devices_evaluated: 25,
  samples: 1200,
  fires: 3,
  devices: [
    { device_id: "dev-a", fires: 2, first_at: "2026-12-02T10:00:00Z", last_at: "2026-12-02T11:00:00Z" },
    { device_id: "dev-b", fires: 1, first_at: "2026-12-02T09:00:00Z", last_at: "2026-12-02T09:00:00Z" },
  ],
  firing: [],
  firing_truncated: false,
  thresholds: [{ metric: "temperature_c", operator: "GT", threshold: 15, clear_threshold: null }],
};

describe("backtest answer", () => {
  it("says how often and where, what data it used and what it approximates", async () => {
    const onChart = vi.fn();
    render(
      <MantineProvider>
        <BacktestAnswer result={result} stale={false} chart={null} onChart={onChart} />
      </MantineProvider>,
    );
    expect(screen.getByRole("status", { name: "Backtest result" })).toHaveTextContent(
      "Would have fired 3 times on 2 devices in the last 24 hours",
    );
    expect(screen.getByText(/per-minute rollup \(approximate\)/)).toBeInTheDocument();
    expect(screen.getByText("per-minute rollup: durations are resolved to the minute")).toBeInTheDocument();
    const table = screen.getByRole("table", { name: "Devices that would have fired" });
    expect(within(table).getAllByRole("row")).toHaveLength(3);
    await userEvent.click(screen.getByRole("button", { name: "Show chart of dev-b" }));
    expect(onChart).toHaveBeenCalledWith("dev-b");
    expect(screen.queryByText(/has changed since this backtest/)).toBeNull();
  });

  it("shows a 422 as the API words it", () => {
    const detail = "backtests replay threshold rules; a anomaly rule depends on timing and history";
    render(
      <MantineProvider>
        <ApiErrorAlert title="The backtest could not run" error={new ApiError(422, "backtest_unsupported", detail)} />
      </MantineProvider>,
    );
    const alert = screen.getByRole("alert");
    expect(alert).toHaveTextContent(detail);
    expect(alert).toHaveTextContent("backtest_unsupported");
  });
});
