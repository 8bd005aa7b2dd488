import { useMemo, useState } from "react";
import { Alert, Badge, Button, Card, Group, NativeSelect, Stack, Table, Text, TextInput, Title } from "@mantine/core";
import { useSearchParams } from "react-router-dom";
import {
  useAddOverride,
  useCurrentOnCall,
  useDeleteOverride,
  useGaps,
  useOverrides,
  useSchedules,
  useTimeline,
  useUsers,
  TIMELINE_DAYS,
  type Schedule,
  type User,
} from "../api/oncall";
import { useSession } from "../auth/AuthProvider";
import { Empty, ErrorState, Loading } from "../components/States";
import { TimeText } from "../components/TimeText";
import { userTimeZone } from "../components/time";
import { describeRotation, fromLocalInput, overrideProblem, toLocalInput } from "./oncall/layout";
import { OnCallTimeline } from "./oncall/OnCallTimeline";
import { PageHeader } from "./PageHeader";

/** user id → name, from every source the page has (users list for admins, slots, overrides). */
function useNames(scheduleId: number, users: User[] | undefined) {
  const timeline = useTimeline(scheduleId);
  const overrides = useOverrides(scheduleId);
  return useMemo(() => {
    const names = new Map<string, string>();
    for (const slot of timeline.data?.slots ?? []) names.set(slot.user_id, slot.responder);
    for (const o of overrides.data?.overrides ?? []) names.set(o.user_id, o.username);
    for (const u of users ?? []) names.set(u.user_id, u.display_name ? `${u.display_name} (${u.username})` : u.username);
    return names;
  }, [timeline.data, overrides.data, users]);
}

function CurrentCard({ scheduleId }: { scheduleId: number }) {
  const current = useCurrentOnCall(scheduleId);
  return (
    <Card withBorder padding="md" component="section" aria-labelledby="oncall-now">
      <Title order={3} size="h4" id="oncall-now" mb="xs">
        On call now
      </Title>
      {current.isPending ? (
        <Loading label="Finding who is on call…" />
      ) : current.isError ? (
        <ErrorState error={current.error} onRetry={() => void current.refetch()} />
      ) : !current.data.responder ? (
        <Alert color="red" title="Nobody is on call" role="status">
          Alerts routed to this schedule reach no one until a layer or an override covers this time.
        </Alert>
      ) : (
        <Stack gap={4}>
          <Group gap="xs">
            <Text fw={700} size="lg" data-testid="current-responder">
              {current.data.display_name || current.data.responder}
            </Text>
            {current.data.display_name && <Text c="dimmed">({current.data.responder})</Text>}
            {current.data.is_override ? (
              <Badge color="orange.4" autoContrast variant="filled">
                Override
              </Badge>
            ) : (
              <Badge color="blue.9" variant="filled">
                {current.data.layer}
              </Badge>
            )}
          </Group>
          <Text size="sm">
            Since <TimeText iso={current.data.since} />, until{" "}
            {current.data.until ? <TimeText iso={current.data.until} /> : "no change within a year"}
          </Text>
        </Stack>
      )}
    </Card>
  );
}

function TimelineSection({ schedule }: { schedule: Schedule }) {
  const timeline = useTimeline(schedule.schedule_id);
  const gaps = useGaps(schedule.schedule_id);
  return (
    <section aria-labelledby="oncall-timeline">
      <Title order={3} size="h4" id="oncall-timeline" mb={4}>
        Next {TIMELINE_DAYS} days
      </Title>
      <Text size="sm" c="dimmed" mb="xs">
        Times in {userTimeZone()} (yours); the schedule hands off in {schedule.timezone}.
      </Text>
      {timeline.isPending || gaps.isPending ? (
        <Loading label="Loading the timeline…" />
      ) : timeline.isError ? (
        <ErrorState error={timeline.error} onRetry={() => void timeline.refetch()} />
      ) : gaps.isError ? (
        <ErrorState error={gaps.error} onRetry={() => void gaps.refetch()} />
      ) : timeline.data.slots.length === 0 && gaps.data.gaps.length === 0 ? (
        <Empty title="Nobody is scheduled">Add a layer with participants to this schedule.</Empty>
      ) : (
        <OnCallTimeline timeline={timeline.data} gaps={gaps.data.gaps} />
      )}
    </section>
  );
}

function LayersSection({ schedule, names }: { schedule: Schedule; names: Map<string, string> }) {
  const layers = [...schedule.layers].sort((a, b) => b.position - a.position);
  return (
    <section aria-labelledby="oncall-layers">
      <Title order={3} size="h4" id="oncall-layers" mb={4}>
        Layers
      </Title>
      <Text size="sm" c="dimmed" mb="xs">
        Higher layers win where they have someone; handoffs in {schedule.timezone}.
      </Text>
      {layers.length === 0 ? (
        <Empty title="No layers">This schedule has no rotations yet.</Empty>
      ) : (
        <Table striped aria-label="Layers">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Layer</Table.Th>
              <Table.Th>Rotation</Table.Th>
              <Table.Th>Starts</Table.Th>
              <Table.Th>Participants, in order</Table.Th>
              <Table.Th>Restrictions</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {layers.map((layer) => (
              <Table.Tr key={layer.layer_id}>
                <Table.Td>{layer.name}</Table.Td>
                <Table.Td>{describeRotation(layer)}</Table.Td>
                <Table.Td>{layer.start_date}</Table.Td>
                <Table.Td>{layer.participants.map((id) => names.get(id) ?? `user ${id.slice(0, 8)}`).join(", ")}</Table.Td>
                <Table.Td>
                  {layer.restrictions.length === 0
                    ? "Around the clock"
                    : layer.restrictions.map((r) => `${r.weekdays.map((d) => WEEKDAY[d] ?? d).join(" ")} ${r.start}–${r.end}`).join("; ")}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </section>
  );
}

const WEEKDAY = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

export function AddOverrideForm({
  users,
  pending,
  onSubmit,
}: {
  users: User[];
  pending: boolean;
  onSubmit: (body: { user_id: string; start_at: string; end_at: string; reason: string | null }) => void;
}) {
  const [userId, setUserId] = useState("");
  const [start, setStart] = useState(() => toLocalInput(new Date()));
  const [end, setEnd] = useState(() => toLocalInput(new Date(Date.now() + 3_600_000)));
  const [reason, setReason] = useState("");
  const [touched, setTouched] = useState(false);
  const problem = overrideProblem(userId, start, end);
  return (
    <form
      aria-label="Add an override"
      noValidate
      onSubmit={(event) => {
        event.preventDefault();
        setTouched(true);
        if (problem) return;
        onSubmit({
          user_id: userId,
          start_at: fromLocalInput(start)!,
          end_at: fromLocalInput(end)!,
          reason: reason.trim() || null,
        });
      }}
    >
      <Group align="flex-end" wrap="wrap">
        <NativeSelect
          label="Who covers"
          value={userId}
          onChange={(e) => setUserId(e.currentTarget.value)}
          data={[
            { value: "", label: "Choose a person…" },
            ...users.map((u) => ({ value: u.user_id, label: u.display_name ? `${u.display_name} (${u.username})` : u.username })),
          ]}
          required
        />
        <TextInput
          type="datetime-local"
          label={`Start (${userTimeZone()})`}
          value={start}
          onChange={(e) => setStart(e.currentTarget.value)}
          required
        />
        <TextInput
          type="datetime-local"
          label={`End (${userTimeZone()})`}
          value={end}
          onChange={(e) => setEnd(e.currentTarget.value)}
          required
        />
        <TextInput label="Reason" value={reason} onChange={(e) => setReason(e.currentTarget.value)} maxLength={2000} />
        <Button type="submit" loading={pending}>
          Add override
        </Button>
      </Group>
      {touched && problem && (
        <Text c="red.9" size="sm" mt="xs" role="alert">
          {problem}
        </Text>
      )}
    </form>
  );
}

function OverridesSection({ schedule, users }: { schedule: Schedule; users: ReturnType<typeof useUsers> }) {
  const { access } = useSession();
  const overrides = useOverrides(schedule.schedule_id);
  const add = useAddOverride(schedule.schedule_id);
  const remove = useDeleteOverride(schedule.schedule_id);
  const [formKey, setFormKey] = useState(0);
  const rows = [...(overrides.data?.overrides ?? [])].sort((a, b) => a.start_at.localeCompare(b.start_at));
  return (
    <section aria-labelledby="oncall-overrides">
      <Title order={3} size="h4" id="oncall-overrides" mb="xs">
        Overrides
      </Title>
      {access.canWriteTenant && (
        <Card withBorder padding="sm" mb="sm">
          {users.isPending ? (
            <Loading label="Loading people…" />
          ) : users.isError ? (
            <ErrorState error={users.error} onRetry={() => void users.refetch()} />
          ) : (
            <AddOverrideForm
              key={formKey}
              users={users.data.users.filter((u) => u.status !== "DISABLED")}
              pending={add.isPending}
              onSubmit={(body) => add.mutate(body, { onSuccess: () => setFormKey((k) => k + 1) })}
            />
          )}
          {add.isError && (
            <Stack mt="xs">
              <ErrorState error={add.error} />
            </Stack>
          )}
        </Card>
      )}
      {remove.isError && <ErrorState error={remove.error} />}
      {overrides.isPending ? (
        <Loading label="Loading overrides…" />
      ) : overrides.isError ? (
        <ErrorState error={overrides.error} onRetry={() => void overrides.refetch()} />
      ) : rows.length === 0 ? (
        <Empty title="No overrides">The layers decide who is on call.</Empty>
      ) : (
        <Table striped aria-label="Overrides">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Who</Table.Th>
              <Table.Th>From</Table.Th>
              <Table.Th>Until</Table.Th>
              <Table.Th>Reason</Table.Th>
              <Table.Th>Added by</Table.Th>
              {access.canWriteTenant && <Table.Th>Actions</Table.Th>}
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((o) => (
              <Table.Tr key={o.override_id}>
                <Table.Td>{o.username}</Table.Td>
                <Table.Td>
                  <TimeText iso={o.start_at} />
                </Table.Td>
                <Table.Td>
                  <TimeText iso={o.end_at} />
                </Table.Td>
                <Table.Td>{o.reason ?? "—"}</Table.Td>
                <Table.Td>{o.created_by ?? "—"}</Table.Td>
                {access.canWriteTenant && (
                  <Table.Td>
                    <Button
                      size="xs"
                      variant="outline"
                      color="red.9"
                      loading={remove.isPending && remove.variables === o.override_id}
                      aria-label={`Delete the override for ${o.username} from ${new Date(o.start_at).toLocaleString()}`}
                      onClick={() => remove.mutate(o.override_id)}
                    >
                      Delete
                    </Button>
                  </Table.Td>
                )}
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </section>
  );
}

function ScheduleView({ schedule }: { schedule: Schedule }) {
  const { access } = useSession();
  const users = useUsers(access.canWriteTenant);
  const names = useNames(schedule.schedule_id, users.data?.users);
  return (
    <Stack gap="lg">
      {schedule.description && <Text>{schedule.description}</Text>}
      <CurrentCard scheduleId={schedule.schedule_id} />
      <TimelineSection schedule={schedule} />
      <LayersSection schedule={schedule} names={names} />
      <OverridesSection schedule={schedule} users={users} />
    </Stack>
  );
}

export function OnCallPage() {
  const schedules = useSchedules();
  const [params, setParams] = useSearchParams();
  const list = schedules.data?.schedules ?? [];
  const requested = Number(params.get("schedule"));
  const selected = list.find((s) => s.schedule_id === requested) ?? list[0];

  return (
    <>
      <PageHeader title="On-call">
        {list.length > 1 && selected && (
          <NativeSelect
            label="Schedule"
            value={String(selected.schedule_id)}
            onChange={(e) => setParams({ schedule: e.currentTarget.value })}
            data={list.map((s) => ({ value: String(s.schedule_id), label: s.name }))}
          />
        )}
      </PageHeader>
      {schedules.isPending ? (
        <Loading label="Loading schedules…" />
      ) : schedules.isError ? (
        <ErrorState error={schedules.error} onRetry={() => void schedules.refetch()} />
      ) : !selected ? (
        <Empty title="No on-call schedules">This tenant has no on-call schedule yet.</Empty>
      ) : (
        <>
          <Title order={2} size="h3" mb="md">
            {selected.name}{" "}
            <Text span c="dimmed" size="sm">
              ({selected.timezone})
            </Text>
          </Title>
          <ScheduleView key={selected.schedule_id} schedule={selected} />
        </>
      )}
    </>
  );
}
