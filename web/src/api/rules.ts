/** Alert rules, escalation policies (for the rule's policy select) and the rule backtest: shapes from
 * the API's OpenAPI document, the hooks, and the pure helpers the rule editor is built on. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useApi } from "./ApiProvider";
import type { DeviceList } from "./types";

export type Operator = "GT" | "GTE" | "LT" | "LTE" | "EQ" | "NEQ";
export const OPERATORS: { value: Operator; label: string }[] = [
  { value: "GT", label: "> greater than" },
  { value: "GTE", label: "≥ at least" },
  { value: "LT", label: "< less than" },
  { value: "LTE", label: "≤ at most" },
  { value: "EQ", label: "= equal to" },
  { value: "NEQ", label: "≠ not equal to" },
];
const SYMBOL: Record<string, string> = { GT: ">", GTE: "≥", LT: "<", LTE: "≤", EQ: "=", NEQ: "≠" };

export interface AlertRule {
  tenant_id: string;
  rule_id: string;
  name: string;
  description: string | null;
  enabled: boolean;
  rule_type: string;
  metric_name: string | null;
  operator: string | null;
  threshold: number | null;
  clear_threshold: number | null;
  clear_after_seconds: number | null;
  severity: number;
  duration_seconds: number;
  site_ids: string[] | null;
  group_ids: string[] | null;
  device_type: string | null;
  conditions: Record<string, unknown> | null;
  anomaly_conditions: Record<string, unknown> | null;
  gap_conditions: Record<string, unknown> | null;
  escalation_policy_id: number | null;
  created_at: string;
  updated_at: string;
}

export interface RuleList {
  tenant_id: string;
  rules: AlertRule[];
  count: number;
  total: number;
  limit: number;
  offset: number;
}

export interface EscalationPolicy {
  policy_id: number;
  name: string;
  description: string | null;
  is_default: boolean;
}

export interface BacktestResult {
  start: string;
  end: string;
  source: "raw" | "rollup_1m";
  exact: boolean;
  approximations: string[];
  devices_evaluated: number;
  samples: number;
  fires: number;
  devices: { device_id: string; fires: number; first_at: string; last_at: string }[];
  firing: { device_id: string; start: string; fired_at: string | null; end: string | null }[];
  firing_truncated: boolean;
  thresholds: { metric: string; operator: string; threshold: number; clear_threshold: number | null }[];
  series?: BacktestSeries | null;
}

export interface BacktestSeries {
  bucket_seconds: number;
  timestamps: number[];
  series: Record<string, { avg?: (number | null)[]; min?: (number | null)[]; max?: (number | null)[] }>;
}

/** The editor's fields, as typed (strings where the user types text). */
export interface RuleForm {
  name: string;
  metric_name: string;
  operator: Operator;
  threshold: number | "";
  duration_seconds: number | "";
  severity: number;
  site_ids: string;
  escalation_policy_id: string; // "" = the tenant's default policy
  enabled: boolean;
}

export const EMPTY_FORM: RuleForm = {
  name: "",
  metric_name: "",
  operator: "GT",
  threshold: "",
  duration_seconds: 0,
  severity: 3,
  site_ids: "",
  escalation_policy_id: "",
  enabled: true,
};

/** A rule the editor can change: a single-condition threshold rule. */
export function isEditable(rule: AlertRule): boolean {
  return rule.rule_type === "threshold" && rule.metric_name !== null && rule.operator !== null && rule.threshold !== null;
}

export function formFromRule(rule: AlertRule): RuleForm {
  return {
    name: rule.name,
    metric_name: rule.metric_name ?? "",
    operator: (rule.operator as Operator | null) ?? "GT",
    threshold: rule.threshold ?? "",
    duration_seconds: rule.duration_seconds,
    severity: rule.severity,
    site_ids: (rule.site_ids ?? []).join(", "),
    escalation_policy_id: rule.escalation_policy_id === null ? "" : String(rule.escalation_policy_id),
    enabled: rule.enabled,
  };
}

const METRIC = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SITE = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;

export function parseSiteIds(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Field → problem, for the fields the API would refuse (the API checks again). */
export function validateForm(form: RuleForm, { needName = true } = {}): Partial<Record<keyof RuleForm, string>> {
  const errors: Partial<Record<keyof RuleForm, string>> = {};
  if (needName && !form.name.trim()) errors.name = "A rule needs a name";
  if (form.name.length > 128) errors.name = "At most 128 characters";
  if (!METRIC.test(form.metric_name)) errors.metric_name = "Letters, digits and _, not starting with a digit";
  if (form.threshold === "" || !Number.isFinite(form.threshold)) errors.threshold = "A number";
  if (form.duration_seconds === "" || form.duration_seconds < 0 || form.duration_seconds > 86400 || !Number.isInteger(form.duration_seconds))
    errors.duration_seconds = "Whole seconds, 0 to 86400";
  if (!(form.severity >= 1 && form.severity <= 5)) errors.severity = "1 to 5";
  const bad = parseSiteIds(form.site_ids).find((s) => !SITE.test(s));
  if (bad) errors.site_ids = `“${bad}” is not a site id`;
  return errors;
}

/** The fields of a threshold rule as POST, PATCH and the backtest take them. */
export function ruleBody(form: RuleForm) {
  const sites = parseSiteIds(form.site_ids);
  return {
    name: form.name.trim(),
    enabled: form.enabled,
    metric_name: form.metric_name,
    operator: form.operator,
    threshold: Number(form.threshold),
    duration_seconds: Number(form.duration_seconds),
    severity: form.severity,
    site_ids: sites.length ? sites : null,
    escalation_policy_id: form.escalation_policy_id ? Number(form.escalation_policy_id) : null,
  };
}

export function backtestBody(form: RuleForm, deviceId: string | null, hours = 24) {
  const { name, ...rest } = ruleBody(form);
  return {
    ...(name ? { name } : {}),
    ...rest,
    rule_type: "threshold",
    hours,
    ...(deviceId ? { device_id: deviceId } : {}),
  };
}

/** The rule's condition in words, for every rule type. */
export function describeCondition(rule: AlertRule): string {
  const held = rule.duration_seconds > 0 ? ` for ${rule.duration_seconds} s` : "";
  if (rule.rule_type === "threshold") {
    if (rule.metric_name && rule.operator && rule.threshold !== null)
      return `${rule.metric_name} ${SYMBOL[rule.operator] ?? rule.operator} ${rule.threshold}${held}`;
    const c = rule.conditions as { combinator?: string; conditions?: { metric_name: string; operator: string; threshold: number }[] } | null;
    if (c?.conditions?.length)
      return (
        c.conditions.map((x) => `${x.metric_name} ${SYMBOL[x.operator] ?? x.operator} ${x.threshold}`).join(` ${c.combinator ?? "AND"} `) +
        held
      );
  }
  if (rule.rule_type === "anomaly") {
    const a = (rule.anomaly_conditions ?? rule.conditions ?? {}) as { metric_name?: string; z_threshold?: number; window_minutes?: number };
    return `${a.metric_name ?? "?"}: |z| > ${a.z_threshold ?? 3} over ${a.window_minutes ?? 60} min`;
  }
  if (rule.rule_type === "telemetry_gap") {
    const g = (rule.gap_conditions ?? rule.conditions ?? {}) as { gap_minutes?: number; metric_name?: string | null };
    return `no ${g.metric_name ?? "telemetry"} for ${g.gap_minutes ?? "?"} min`;
  }
  if (rule.rule_type === "no_heartbeat") return "no heartbeat";
  return "—";
}

export function ruleMetric(rule: AlertRule): string {
  if (rule.metric_name) return rule.metric_name;
  const c = (rule.anomaly_conditions ?? rule.gap_conditions ?? rule.conditions ?? {}) as {
    metric_name?: string | null;
    conditions?: { metric_name: string }[];
  };
  if (c.metric_name) return c.metric_name;
  if (c.conditions?.length) return [...new Set(c.conditions.map((x) => x.metric_name))].join(", ");
  return "—";
}

/** Firing periods of one device as [start ms, end ms] (an open period runs to the window's end). */
export function firingAreas(result: BacktestResult, deviceId: string): [number, number][] {
  const windowEnd = Date.parse(result.end);
  return result.firing
    .filter((p) => p.device_id === deviceId)
    .map((p) => [Date.parse(p.start), p.end ? Date.parse(p.end) : windowEnd]);
}

export function backtestSummary(result: BacktestResult, hours: number): string {
  const times = result.fires === 1 ? "time" : "times";
  const devices = result.devices.length === 1 ? "device" : "devices";
  return `Would have fired ${result.fires} ${times} on ${result.devices.length} ${devices} in the last ${hours} hours`;
}

// --- hooks -------------------------------------------------------------------------------------

export const ruleKeys = {
  rules: ["alert-rules"] as const,
  policies: ["escalation-policies"] as const,
  devicePicker: ["devices", "rule-picker"] as const,
};

export function useAlertRules() {
  const api = useApi();
  return useQuery({ queryKey: ruleKeys.rules, queryFn: () => api<RuleList>("/customer/alert-rules?limit=500") });
}

export function useEscalationPolicies() {
  const api = useApi();
  return useQuery({
    queryKey: ruleKeys.policies,
    queryFn: () => api<{ policies: EscalationPolicy[] }>("/customer/escalation-policies"),
  });
}

export function useDevicePicker(enabled: boolean) {
  const api = useApi();
  return useQuery({
    queryKey: ruleKeys.devicePicker,
    queryFn: () => api<DeviceList>("/api/v2/devices?limit=1000"),
    enabled,
  });
}

export function useSaveRule() {
  const api = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ ruleId, form }: { ruleId: string | null; form: RuleForm }) =>
      ruleId
        ? api<AlertRule>(`/customer/alert-rules/${ruleId}`, { method: "PATCH", body: ruleBody(form) })
        : api<AlertRule>("/customer/alert-rules", { method: "POST", body: { ...ruleBody(form), rule_type: "threshold" } }),
    onSettled: () => void queryClient.invalidateQueries({ queryKey: ruleKeys.rules }),
  });
}

export function useSetRuleEnabled() {
  const api = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ ruleId, enabled }: { ruleId: string; enabled: boolean }) =>
      api<AlertRule>(`/customer/alert-rules/${ruleId}`, { method: "PATCH", body: { enabled } }),
    onSettled: () => void queryClient.invalidateQueries({ queryKey: ruleKeys.rules }),
  });
}

export function useDeleteRule() {
  const api = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (ruleId: string) => api<void>(`/customer/alert-rules/${ruleId}`, { method: "DELETE" }),
    onSettled: () => void queryClient.invalidateQueries({ queryKey: ruleKeys.rules }),
  });
}

export function useBacktest() {
  const api = useApi();
  return useMutation({
    mutationFn: ({ form, deviceId }: { form: RuleForm; deviceId: string | null }) =>
      api<BacktestResult>("/customer/alert-rules/backtest", { method: "POST", body: backtestBody(form, deviceId) }),
  });
}
