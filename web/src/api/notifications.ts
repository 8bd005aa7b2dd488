/** Types and hooks of the notification channels, routing rules and delivery jobs
 * (/customer/notification-channels, /customer/notification-routing-rules, /customer/delivery-jobs). */
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useApi } from "./ApiProvider";

export interface Channel {
  tenant_id: string;
  channel_id: number;
  name: string;
  channel_type: string;
  /** Secrets come back as `********`. */
  config: Record<string, unknown>;
  is_enabled: boolean;
  created_at: string;
  updated_at: string;
}

export interface ChannelList {
  channels: Channel[];
  total: number;
  limit: number;
  offset: number;
}

export type ChannelKind = "webhook" | "slack";

export interface NewChannel {
  name: string;
  channel_type: ChannelKind;
  config: Record<string, unknown>;
  is_enabled: boolean;
}

export interface TestResult {
  ok: boolean;
  reason: string;
  http_status: number | null;
  latency_ms: number;
  error: string | null;
  message_id: string;
}

export const ALERT_EVENTS = ["OPEN", "ACKNOWLEDGED", "ESCALATED", "CLOSED"] as const;
export type AlertEvent = (typeof ALERT_EVENTS)[number];
export const ALERT_TYPES = ["THRESHOLD", "ANOMALY", "NO_HEARTBEAT", "NO_TELEMETRY"] as const;

export interface RoutingRule {
  tenant_id: string;
  rule_id: number;
  channel_id: number;
  channel_name: string;
  channel_type: string;
  min_severity: number | null;
  alert_type: string | null;
  device_tag_key: string | null;
  device_tag_val: string | null;
  deliver_on: string[];
  throttle_minutes: number;
  is_enabled: boolean;
  created_at: string;
}

export interface RoutingRuleList {
  rules: RoutingRule[];
  total: number;
  limit: number;
  offset: number;
}

export interface RoutingRuleBody {
  channel_id: number;
  min_severity: number | null;
  alert_type: string | null;
  device_tag_key: string | null;
  device_tag_val: string | null;
  deliver_on: AlertEvent[];
  throttle_minutes: number;
  is_enabled: boolean;
}

export const JOB_STATUSES = ["PENDING", "PROCESSING", "COMPLETED", "FAILED"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export interface DeliveryJob {
  job_id: number;
  alert_id: number | null;
  integration_id: string | null;
  route_id: string | null;
  channel_id: number | null;
  routing_rule_id: number | null;
  event: string;
  status: string;
  attempts: number;
  last_error: string | null;
  next_run_at: string;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
  redriven_at: string | null;
}

export interface DeliveryJobList {
  jobs: DeliveryJob[];
  total: number;
  limit: number;
  offset: number;
}

export interface Attempt {
  attempt_no: number;
  ok: boolean;
  http_status: number | null;
  reason: string | null;
  latency_ms: number | null;
  error: string | null;
  started_at: string;
  finished_at: string | null;
}

export interface AttemptList {
  job_id: number;
  attempts: Attempt[];
}

export const notifyKeys = {
  channels: ["notification-channels"] as const,
  rules: ["notification-routing-rules"] as const,
  jobs: ["delivery-jobs"] as const,
  jobList: (status: JobStatus | "") => ["delivery-jobs", status] as const,
  attempts: (jobId: number) => ["delivery-jobs", "attempts", jobId] as const,
};

export function useChannels() {
  const api = useApi();
  return useQuery({
    queryKey: notifyKeys.channels,
    queryFn: () => api<ChannelList>("/customer/notification-channels?limit=500"),
  });
}

export function useRoutingRules() {
  const api = useApi();
  return useQuery({
    queryKey: notifyKeys.rules,
    queryFn: () => api<RoutingRuleList>("/customer/notification-routing-rules?limit=500"),
  });
}

export function useCreateChannel() {
  const api = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: NewChannel) => api<Channel>("/customer/notification-channels", { method: "POST", body }),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: notifyKeys.channels }),
  });
}

export function useDeleteChannel() {
  const api = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (channelId: number) =>
      api<void>(`/customer/notification-channels/${channelId}`, { method: "DELETE" }),
    onSettled: () => {
      void queryClient.invalidateQueries({ queryKey: notifyKeys.channels });
      void queryClient.invalidateQueries({ queryKey: notifyKeys.rules });
    },
  });
}

export function useTestChannel() {
  const api = useApi();
  return useMutation({
    mutationFn: (channelId: number) =>
      api<TestResult>(`/customer/notification-channels/${channelId}/test`, { method: "POST" }),
  });
}

export function useCreateRoutingRule() {
  const api = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: RoutingRuleBody) =>
      api<RoutingRule>("/customer/notification-routing-rules", { method: "POST", body }),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: notifyKeys.rules }),
  });
}

export function useDeleteRoutingRule() {
  const api = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (ruleId: number) =>
      api<void>(`/customer/notification-routing-rules/${ruleId}`, { method: "DELETE" }),
    onSettled: () => void queryClient.invalidateQueries({ queryKey: notifyKeys.rules }),
  });
}

export function useDeliveryJobs(status: JobStatus | "") {
  const api = useApi();
  return useQuery({
    queryKey: notifyKeys.jobList(status),
    queryFn: () => api<DeliveryJobList>(`/customer/delivery-jobs?limit=200${status ? `&status=${status}` : ""}`),
    placeholderData: keepPreviousData,
    refetchInterval: 30_000,
  });
}

export function useJobAttempts(jobId: number | null) {
  const api = useApi();
  return useQuery({
    queryKey: notifyKeys.attempts(jobId ?? -1),
    queryFn: () => api<AttemptList>(`/customer/delivery-jobs/${jobId}/attempts`),
    enabled: jobId !== null,
  });
}

export function useRedriveJob() {
  const api = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (jobId: number) => api<DeliveryJob>(`/customer/delivery-jobs/${jobId}/redrive`, { method: "POST" }),
    onSettled: () => void queryClient.invalidateQueries({ queryKey: notifyKeys.jobs }),
  });
}

/** The channel's settings as they may be shown: the URL, and for each secret only that it is set.
 * Secrets come back as `********`; anything else under a secret-like key is never shown either. */
export function describeConfig(config: Record<string, unknown>): string {
  const parts: string[] = [];
  const url = config.url;
  if (typeof url === "string" && url !== "********") parts.push(url);
  else if (url === "********") parts.push("URL set (hidden)");
  for (const [key, value] of Object.entries(config)) {
    if (key === "url") continue;
    if (value === "********" || /secret|token|key|password/i.test(key)) parts.push(`${key}: ********`);
  }
  return parts.join(" · ") || "—";
}

/** The body of a new webhook or Slack channel; an empty secret is left out. */
export function newChannelBody(kind: ChannelKind, name: string, url: string, secret: string): NewChannel {
  const config: Record<string, unknown> = { url: url.trim() };
  if (kind === "webhook" && secret) config.secret = secret;
  return { name: name.trim(), channel_type: kind, config, is_enabled: true };
}

/** What a job delivers to, in words. */
export function jobTarget(job: DeliveryJob, channels: Map<number, string>): string {
  if (job.channel_id !== null) {
    const name = channels.get(job.channel_id);
    return name ? `Channel ${name}` : `Channel #${job.channel_id}`;
  }
  if (job.integration_id) return `Integration ${job.integration_id.slice(0, 8)}`;
  if (job.route_id) return `Route ${job.route_id.slice(0, 8)}`;
  // the escalation worker queues a responder's own message (e-mail …) with no channel or integration
  if (job.event === "ESCALATED") return "Responder (escalation)";
  return "—";
}
