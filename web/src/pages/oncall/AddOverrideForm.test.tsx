import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MantineProvider } from "@mantine/core";
import type { User } from "../../api/oncall";
import { AddOverrideForm } from "../OnCallPage";

const users: User[] = [
  { user_id: "u-1", username: "demo-admin", email: null, display_name: "Demo Admin", roles: [], status: "ACTIVE" },
  { user_id: "u-2", username: "demo-viewer", email: null, display_name: null, roles: [], status: "ACTIVE" },
];

function renderForm() {
  const sent: unknown[] = [];
  render(
    <MantineProvider>
      <AddOverrideForm users={users} pending={false} onSubmit={(body) => sent.push(body)} />
    </MantineProvider>,
  );
  return sent;
}

describe("add an override", () => {
  it("asks who covers before sending", async () => {
    const sent = renderForm();
    await userEvent.click(screen.getByRole("button", { name: "Add override" }));
    expect(screen.getByRole("alert")).toHaveTextContent("Choose who covers.");
    expect(sent).toEqual([]);
  });

  it("sends the chosen person for the next hour by default, in UTC instants", async () => {
    const sent = renderForm();
    await userEvent.selectOptions(screen.getByLabelText(/Who covers/), "u-1");
    await userEvent.type(screen.getByLabelText("Reason"), "swap");
    await userEvent.click(screen.getByRole("button", { name: "Add override" }));
    expect(sent).toHaveLength(1);
    const body = sent[0] as { user_id: string; start_at: string; end_at: string; reason: string };
    expect(body.user_id).toBe("u-1");
    expect(body.reason).toBe("swap");
    expect(new Date(body.end_at).getTime() - new Date(body.start_at).getTime()).toBe(3_600_000);
    expect(body.start_at.endsWith("Z")).toBe(true);
  });

  it("refuses an end before the start", async () => {
    const sent = renderForm();
    await userEvent.selectOptions(screen.getByLabelText(/Who covers/), "u-2");
    const end = screen.getByLabelText(/^End/);
    await userEvent.clear(end);
    await userEvent.type(end, "2000-01-01T00:00");
    await userEvent.click(screen.getByRole("button", { name: "Add override" }));
    expect(screen.getByRole("alert")).toHaveTextContent("The end must be after the start.");
    expect(sent).toEqual([]);
  });
});
