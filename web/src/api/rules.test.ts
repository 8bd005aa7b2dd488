import {
  backtestBody,
  backtestSummary,
  describeCondition,
  EMPTY_FORM,
  firingAreas,
  formFromRule,
  isEditable,
  ruleBody,
  validateForm,
  type AlertRule,
  type BacktestResult,
} from "./rules";

const rule: AlertRule = {
  tenant_id: "demo",
  rule_id: "r1",
  name: "warm",
  description: null,
  enabled: true,
  rule_type: "threshold",
  metric_name: "temperature_c",
  operator: "GT",
  threshold: 15,
  clear_threshold: null,
  clear_after_seconds: null,
  severity: 4,
  duration_seconds: 60,
  site_ids: ["plant-a", "plant-b"],
  group_ids: null,
  device_type: null,
  conditions: null,
  anomaly_conditions: null,
  gap_conditions: null,
  escalation_policy_id: 7,
  created_at: "2026-12-01T00:00:00Z",
  updated_at: "2026-12-01T00:00:00Z",
};

describe("rule form", () => {
  it("round-trips a threshold rule into the body POST and PATCH take", () => {
    expect(ruleBody(formFromRule(rule))).toEqual({
      name: "warm",
      enabled: true,
      metric_name: "temperature_c",
      operator: "GT",
      threshold: 15,
      duration_seconds: 60,
      severity: 4,
      site_ids: ["plant-a", "plant-b"],
      escalation_policy_id: 7,
    });
  });

  it("sends null for no sites and the tenant's default policy", () => {
    const body = ruleBody({ ...EMPTY_FORM, name: "x", metric_name: "m", threshold: 1 });
    expect(body.site_ids).toBeNull();
    expect(body.escalation_policy_id).toBeNull();
  });

  it("names the problems the API would refuse", () => {
    const errors = validateForm({ ...EMPTY_FORM, metric_name: "1bad", site_ids: "ok, -bad" });
    expect(Object.keys(errors).sort()).toEqual(["metric_name", "name", "site_ids", "threshold"]);
    expect(validateForm({ ...EMPTY_FORM, metric_name: "temperature_c", threshold: 15 }, { needName: false })).toEqual({});
  });

  it("backtests an unnamed rule with hours and an optional device", () => {
    const form = { ...EMPTY_FORM, metric_name: "temperature_c", threshold: 15 };
    const body = backtestBody(form, null);
    expect(body).not.toHaveProperty("name");
    expect(body).not.toHaveProperty("device_id");
    expect(body).toMatchObject({ rule_type: "threshold", hours: 24, operator: "GT", threshold: 15 });
    expect(backtestBody(form, "dev-1")).toMatchObject({ device_id: "dev-1" });
  });
});

describe("rule list", () => {
  it("describes every rule type", () => {
    expect(describeCondition(rule)).toBe("temperature_c > 15 for 60 s");
    const multi = {
      ...rule,
      metric_name: null,
      operator: null,
      threshold: null,
      duration_seconds: 0,
      conditions: {
        combinator: "OR",
        conditions: [
          { metric_name: "a", operator: "LT", threshold: 1 },
          { metric_name: "b", operator: "GTE", threshold: 2 },
        ],
      },
    };
    expect(describeCondition(multi)).toBe("a < 1 OR b ≥ 2");
    expect(isEditable(multi)).toBe(false);
    expect(
      describeCondition({ ...rule, rule_type: "telemetry_gap", gap_conditions: { gap_minutes: 15, metric_name: null } }),
    ).toBe("no telemetry for 15 min");
    expect(
      describeCondition({ ...rule, rule_type: "anomaly", anomaly_conditions: { metric_name: "t", z_threshold: 2.5, window_minutes: 30 } }),
    ).toBe("t: |z| > 2.5 over 30 min");
  });
});

describe("backtest answer", () => {
  const result: BacktestResult = {
    start: "2026-12-01T12:00:00Z",
    end: "2026-12-02T12:00:00Z",
    source: "raw",
    exact: true,
    approximations: [],
    devices_evaluated: 3,
    samples: 100,
    fires: 1,
    devices: [{ device_id: "d1", fires: 1, first_at: "2026-12-02T10:00:00Z", last_at: "2026-12-02T10:00:00Z" }],
    firing: [
      { device_id: "d1", start: "2026-12-02T10:00:00Z", fired_at: "2026-12-02T10:01:00Z", end: "2026-12-02T11:00:00Z" },
      { device_id: "d1", start: "2026-12-02T11:30:00Z", fired_at: null, end: null },
      { device_id: "d2", start: "2026-12-02T11:00:00Z", fired_at: null, end: "2026-12-02T11:01:00Z" },
    ],
    firing_truncated: false,
    thresholds: [],
  };

  it("says how often, on how many devices", () => {
    expect(backtestSummary(result, 24)).toBe("Would have fired 1 time on 1 device in the last 24 hours");
  });

  it("shades one device's periods, an open one to the end of the window", () => {
    expect(firingAreas(result, "d1")).toEqual([
      [Date.parse("2026-12-02T10:00:00Z"), Date.parse("2026-12-02T11:00:00Z")],
      [Date.parse("2026-12-02T11:30:00Z"), Date.parse("2026-12-02T12:00:00Z")],
    ]);
  });
});
