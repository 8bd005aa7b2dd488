import { render, screen } from "@testing-library/react";
import { MantineProvider } from "@mantine/core";
import { ApiError } from "../../api/errors";
import { describeConfig, jobTarget, newChannelBody, type DeliveryJob } from "../../api/notifications";
import { TestAnswer } from "../NotificationsPage";

const job: DeliveryJob = {
  job_id: 7,
  alert_id: 3,
  integration_id: null,
  route_id: null,
  channel_id: 2,
  routing_rule_id: 1,
  event: "OPEN",
  status: "FAILED",
  attempts: 5,
  last_error: "timeout",
  next_run_at: "2026-12-02T12:00:00Z",
  created_at: "2026-12-02T11:00:00Z",
  updated_at: "2026-12-02T12:00:00Z",
  completed_at: null,
  redriven_at: null,
};

describe("notification channel config", () => {
  it("shows the URL and only that a secret is set", () => {
    const text = describeConfig({ url: "https://hooks.example.com/x", secret: "********", headers: { Authorization: "x" } });
    expect(text).toBe("https://hooks.example.com/x · secret: ********");
  });

  it("never shows a secret-like field's value even if it came back unmasked", () => {
    expect(describeConfig({ url: "********", routing_key: "abc123" })).toBe("URL set (hidden) · routing_key: ********");
  });

  it("builds a webhook body with the secret and a Slack body without", () => {
    expect(newChannelBody("webhook", " Ops ", " https://h.example/x ", "s3")).toEqual({
      name: "Ops",
      channel_type: "webhook",
      config: { url: "https://h.example/x", secret: "s3" },
      is_enabled: true,
    });
    expect(newChannelBody("slack", "Team", "https://hooks.slack.com/a", "ignored").config).toEqual({
      url: "https://hooks.slack.com/a",
    });
    expect(newChannelBody("webhook", "Ops", "https://h.example/x", "").config).toEqual({ url: "https://h.example/x" });
  });
});

describe("delivery job target", () => {
  it("names the channel when known, else its id, else the integration", () => {
    expect(jobTarget(job, new Map([[2, "Ops hook"]]))).toBe("Channel Ops hook");
    expect(jobTarget(job, new Map())).toBe("Channel #2");
    expect(
      jobTarget({ ...job, channel_id: null, integration_id: "0b7c1d2e-0000-0000-0000-000000000000" }, new Map()),
    ).toBe("Integration 0b7c1d2e");
    expect(jobTarget({ ...job, channel_id: null, event: "ESCALATED" }, new Map())).toBe("Responder (escalation)");
  });
});

describe("test send answer", () => {
  it("shows a failed test as the API reports it", () => {
    render(
      <MantineProvider>
        <TestAnswer
          name="Ops"
          result={{ ok: false, reason: "network", http_status: null, latency_ms: 12, error: "name does not resolve", message_id: "msg_1" }}
        />
      </MantineProvider>,
    );
    const status = screen.getByRole("status", { name: "Test result for Ops" });
    expect(status).toHaveTextContent("Test of Ops failed");
    expect(status).toHaveTextContent("network · 12 ms");
    expect(status).toHaveTextContent("name does not resolve");
  });

  it("shows the 429 of the rate limit with its detail", () => {
    const detail = "test sends are limited to one a minute per destination";
    render(
      <MantineProvider>
        <TestAnswer name="Ops" error={new ApiError(429, "rate_limited", detail)} />
      </MantineProvider>,
    );
    const alert = screen.getByRole("alert");
    expect(alert).toHaveTextContent("Test of Ops was refused");
    expect(alert).toHaveTextContent(detail);
    expect(alert).toHaveTextContent("HTTP 429 · rate_limited");
  });
});
