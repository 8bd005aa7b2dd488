/** Types and hooks of the on-call schedules, overrides and escalation policies
 * (/customer/oncall-schedules…, /customer/escalation-policies, /customer/users). */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useApi } from "./ApiProvider";

export interface Restriction {
  weekdays: number[];
  start: string;
  end: string;
}

export interface Layer {
  layer_id: number;
  name: string;
  position: number;
  rotation: string;
  shift_hours: number | null;
  handoff_time: string;
  handoff_weekday: number | null;
  start_date: string;
  participants: string[];
  restrictions: Restriction[];
}

export interface Schedule {
  schedule_id: number;
  name: string;
  description: string | null;
  timezone: string;
  layers: Layer[];
  created_at: string;
  updated_at: string;
}

export interface CurrentOnCall {
  responder: string;
  layer: string;
  until: string | null;
  since: string | null;
  user_id: string | null;
  username: string | null;
  display_name: string | null;
  is_override: boolean;
}

export interface Slot {
  start: string;
  end: string;
  responder: string;
  layer_name: string;
  is_override: boolean;
  user_id: string;
}

export interface Timeline {
  timezone: string;
  start: string;
  end: string;
  slots: Slot[];
}

export interface Gap {
  start: string;
  end: string;
}

export interface GapList {
  timezone: string;
  start: string;
  end: string;
  gaps: Gap[];
}

export interface Override {
  override_id: number;
  schedule_id: number;
  user_id: string;
  username: string;
  start_at: string;
  end_at: string;
  reason: string | null;
  created_by: string | null;
  created_at: string;
}

export interface OverrideCreate {
  user_id: string;
  start_at: string;
  end_at: string;
  reason: string | null;
}

export interface User {
  user_id: string;
  username: string;
  email: string | null;
  display_name: string | null;
  roles: string[];
  status: string;
}

export interface Target {
  type: "schedule" | "user" | "channel";
  id: number | string;
  name: string | null;
}

export interface Level {
  level_number: number;
  delay_minutes: number;
  targets: Target[];
}

export interface Policy {
  policy_id: number;
  name: string;
  description: string | null;
  is_default: boolean;
  repeat_count: number;
  levels: Level[];
  created_at: string;
  updated_at: string;
}

export const TIMELINE_DAYS = 14;

export const oncallKeys = {
  schedules: ["oncall-schedules"] as const,
  schedule: (id: number) => ["oncall-schedules", id] as const,
  users: ["tenant-users"] as const,
  policies: ["escalation-policies"] as const,
};

export function useSchedules() {
  const api = useApi();
  return useQuery({
    queryKey: oncallKeys.schedules,
    queryFn: () => api<{ schedules: Schedule[] }>("/customer/oncall-schedules?limit=500"),
  });
}

export function useCurrentOnCall(id: number) {
  const api = useApi();
  return useQuery({
    queryKey: [...oncallKeys.schedule(id), "current"],
    queryFn: () => api<CurrentOnCall>(`/customer/oncall-schedules/${id}/current`),
    refetchInterval: 60_000,
  });
}

export function useTimeline(id: number) {
  const api = useApi();
  return useQuery({
    queryKey: [...oncallKeys.schedule(id), "timeline"],
    queryFn: () => api<Timeline>(`/customer/oncall-schedules/${id}/timeline?days=${TIMELINE_DAYS}`),
  });
}

export function useGaps(id: number) {
  const api = useApi();
  return useQuery({
    queryKey: [...oncallKeys.schedule(id), "gaps"],
    queryFn: () => api<GapList>(`/customer/oncall-schedules/${id}/gaps?days=${TIMELINE_DAYS}`),
  });
}

export function useOverrides(id: number) {
  const api = useApi();
  return useQuery({
    queryKey: [...oncallKeys.schedule(id), "overrides"],
    queryFn: () => api<{ overrides: Override[] }>(`/customer/oncall-schedules/${id}/overrides`),
  });
}

export function useUsers(enabled = true) {
  const api = useApi();
  return useQuery({
    queryKey: oncallKeys.users,
    queryFn: () => api<{ users: User[]; total: number }>("/customer/users?limit=500"),
    enabled,
    retry: false,
  });
}

export function useAddOverride(id: number) {
  const api = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: OverrideCreate) =>
      api<Override>(`/customer/oncall-schedules/${id}/overrides`, { method: "POST", body }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: oncallKeys.schedule(id) }),
  });
}

export function useDeleteOverride(id: number) {
  const api = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (overrideId: number) =>
      api<void>(`/customer/oncall-schedules/${id}/overrides/${overrideId}`, { method: "DELETE" }),
    onSettled: () => queryClient.invalidateQueries({ queryKey: oncallKeys.schedule(id) }),
  });
}

export function usePolicies() {
  const api = useApi();
  return useQuery({
    queryKey: oncallKeys.policies,
    queryFn: () => api<{ policies: Policy[] }>("/customer/escalation-policies"),
  });
}

export interface PolicyWrite {
  name: string;
  description: string | null;
  is_default: boolean;
  repeat_count: number;
  levels: { delay_minutes: number; targets: { type: Target["type"]; id: number | string }[] }[];
}

export function useSavePolicy() {
  const api = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ policyId, body }: { policyId: number | null; body: PolicyWrite }) =>
      policyId === null
        ? api<Policy>("/customer/escalation-policies", { method: "POST", body })
        : api<Policy>(`/customer/escalation-policies/${policyId}`, { method: "PUT", body }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: oncallKeys.policies }),
  });
}
