import { useMemo, useState } from "react";
import { Badge, Button, Drawer, Group, SegmentedControl, Stack, Table, Text } from "@mantine/core";
import {
  JOB_STATUSES,
  jobTarget,
  useChannels,
  useDeliveryJobs,
  useJobAttempts,
  useRedriveJob,
  type DeliveryJob,
  type JobStatus,
} from "../api/notifications";
import { useSession } from "../auth/AuthProvider";
import { Empty, ErrorState, Loading } from "../components/States";
import { TimeText } from "../components/TimeText";
import { PageHeader } from "./PageHeader";
import { MutationError } from "./NotificationsPage";

const JOB_COLOR: Record<string, string> = {
  PENDING: "yellow.4",
  PROCESSING: "blue.9",
  COMPLETED: "teal.9",
  FAILED: "red.9",
};

export function JobStatusBadge({ status }: { status: string }) {
  return (
    <Badge color={JOB_COLOR[status] ?? "gray.7"} variant="filled" autoContrast miw="max-content">
      {status}
    </Badge>
  );
}

function AttemptsDrawer({ job, onClose }: { job: DeliveryJob | null; onClose: () => void }) {
  const attempts = useJobAttempts(job?.job_id ?? null);
  return (
    <Drawer
      opened={job !== null}
      onClose={onClose}
      position="right"
      size="lg"
      title={job ? `Attempts of job ${job.job_id}` : ""}
      closeButtonProps={{ "aria-label": "Close attempts" }}
    >
      {job &&
        (attempts.isPending ? (
          <Loading label="Loading attempts…" />
        ) : attempts.isError ? (
          <ErrorState error={attempts.error} onRetry={() => void attempts.refetch()} />
        ) : attempts.data.attempts.length === 0 ? (
          <Empty title="No attempts yet">The job has not been tried; it runs next at the time shown in the list.</Empty>
        ) : (
          <Table aria-label={`Attempts of job ${job.job_id}`} striped>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>#</Table.Th>
                <Table.Th>Outcome</Table.Th>
                <Table.Th>Started</Table.Th>
                <Table.Th>Latency</Table.Th>
                <Table.Th>Error</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {attempts.data.attempts.map((a) => (
                <Table.Tr key={a.attempt_no}>
                  <Table.Td>{a.attempt_no}</Table.Td>
                  <Table.Td>
                    {a.ok ? "OK" : "Failed"}
                    {a.reason ? ` · ${a.reason}` : ""}
                    {a.http_status !== null ? ` · HTTP ${a.http_status}` : ""}
                  </Table.Td>
                  <Table.Td>
                    <TimeText iso={a.started_at} />
                  </Table.Td>
                  <Table.Td>{a.latency_ms !== null ? `${a.latency_ms} ms` : "—"}</Table.Td>
                  <Table.Td>{a.error ?? "—"}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        ))}
    </Drawer>
  );
}

export function DeliveriesPage() {
  const [status, setStatus] = useState<JobStatus | "">("");
  const jobs = useDeliveryJobs(status);
  const channels = useChannels();
  const redrive = useRedriveJob();
  const { access } = useSession();
  const [open, setOpen] = useState<DeliveryJob | null>(null);
  const channelNames = useMemo(
    () => new Map((channels.data?.channels ?? []).map((c) => [c.channel_id, c.name] as const)),
    [channels.data],
  );
  const rows = jobs.data?.jobs ?? [];
  return (
    <>
      <PageHeader title="Deliveries" />
      <Stack gap="md">
        <Group>
          <SegmentedControl
            aria-label="Status"
            value={status || "ALL"}
            onChange={(v) => setStatus(v === "ALL" ? "" : (v as JobStatus))}
            data={[{ value: "ALL", label: "All" }, ...JOB_STATUSES.map((s) => ({ value: s, label: s }))]}
          />
          {jobs.isSuccess && (
            <Text size="sm" c="dimmed" aria-live="polite">
              {jobs.data.total} job{jobs.data.total === 1 ? "" : "s"}
              {jobs.data.total > rows.length ? ` (newest ${rows.length} shown)` : ""}
            </Text>
          )}
        </Group>
        {redrive.isError && <MutationError title="The job was not re-driven" error={redrive.error} />}
        {jobs.isPending ? (
          <Loading label="Loading delivery jobs…" />
        ) : jobs.isError ? (
          <ErrorState error={jobs.error} onRetry={() => void jobs.refetch()} />
        ) : rows.length === 0 ? (
          <Empty title={status ? `No ${status} delivery jobs` : "No delivery jobs"}>
            Jobs appear when an alert event is sent to a channel, integration or responder.
          </Empty>
        ) : (
          <Table.ScrollContainer minWidth={900}>
            <Table aria-label="Delivery jobs" striped>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Job</Table.Th>
                  <Table.Th>Status</Table.Th>
                  <Table.Th>Target</Table.Th>
                  <Table.Th>Event</Table.Th>
                  <Table.Th>Attempts</Table.Th>
                  <Table.Th>Last error</Table.Th>
                  <Table.Th>Created</Table.Th>
                  <Table.Th>Completed / next run</Table.Th>
                  <Table.Th>Actions</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {rows.map((job) => (
                  <Table.Tr key={job.job_id}>
                    <Table.Td>{job.job_id}</Table.Td>
                    <Table.Td>
                      <JobStatusBadge status={job.status} />
                    </Table.Td>
                    <Table.Td>{jobTarget(job, channelNames)}</Table.Td>
                    <Table.Td>
                      {job.event}
                      {job.alert_id !== null ? ` · alert ${job.alert_id}` : ""}
                    </Table.Td>
                    <Table.Td>{job.attempts}</Table.Td>
                    <Table.Td>
                      <Text size="sm" style={{ wordBreak: "break-word" }}>
                        {job.last_error ?? "—"}
                      </Text>
                    </Table.Td>
                    <Table.Td>
                      <TimeText iso={job.created_at} />
                    </Table.Td>
                    <Table.Td>
                      {job.completed_at ? (
                        <TimeText iso={job.completed_at} />
                      ) : job.status === "FAILED" ? (
                        "—"
                      ) : (
                        <>
                          next <TimeText iso={job.next_run_at} />
                        </>
                      )}
                      {job.redriven_at && (
                        <Text size="xs" c="dimmed">
                          re-driven <TimeText iso={job.redriven_at} />
                        </Text>
                      )}
                    </Table.Td>
                    <Table.Td>
                      <Group gap="xs" wrap="nowrap">
                        <Button size="xs" variant="outline" color="blue.9" onClick={() => setOpen(job)} aria-label={`Attempts of job ${job.job_id}`}>
                          Attempts
                        </Button>
                        {access.canWriteTenant && job.status === "FAILED" && (
                          <Button
                            size="xs"
                            color="orange.9"
                            loading={redrive.isPending && redrive.variables === job.job_id}
                            onClick={() => redrive.mutate(job.job_id)}
                            aria-label={`Re-drive job ${job.job_id}`}
                          >
                            Re-drive
                          </Button>
                        )}
                      </Group>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
      </Stack>
      <AttemptsDrawer job={open} onClose={() => setOpen(null)} />
    </>
  );
}
