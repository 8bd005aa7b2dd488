import { useEffect, useState } from "react";
import {
  Alert,
  Badge,
  Button,
  Card,
  Checkbox,
  Group,
  NumberInput,
  SegmentedControl,
  Stack,
  Switch,
  Table,
  Text,
  TextInput,
  Title,
} from "@mantine/core";
import { ApiError } from "../api/errors";
import {
  DAY_NAMES,
  describeRecurrence,
  isActiveNow,
  readableDetail,
  useDeleteWindow,
  useMaintenanceWindows,
  useSaveWindow,
  type MaintenanceWindow,
} from "../api/maintenance";
import { useSession } from "../auth/AuthProvider";
import { Empty, ErrorState, Loading } from "../components/States";
import { TimeText } from "../components/TimeText";
import { userTimeZone } from "../components/time";
import { PageHeader } from "./PageHeader";
import { bodyOf, formOf, newForm, toLocalInput, type WindowForm } from "./maintenance/windowForm";

// Mantine's light red alert title (red 6) is below 4.5:1 on its own background; red 9 is not.
const ERROR_STYLES = { title: { color: "var(--mantine-color-red-9)" } };

export function SaveError({ title, error }: { title: string; error: unknown }) {
  const detail = error instanceof ApiError ? readableDetail(error.detail || error.message) : error instanceof Error ? error.message : String(error);
  return (
    <Alert color="red" styles={ERROR_STYLES} title={title} role="alert">
      <Text size="sm">{detail}</Text>
      {error instanceof ApiError && (
        <Text size="xs" c="dimmed">
          Error code: {error.code}
        </Text>
      )}
    </Alert>
  );
}

export function When({ window }: { window: MaintenanceWindow }) {
  const r = window.recurring && Object.keys(window.recurring).length ? window.recurring : null;
  if (!r)
    return (
      <>
        <TimeText iso={window.starts_at} /> → {window.ends_at ? <TimeText iso={window.ends_at} /> : "no end"}
      </>
    );
  return (
    <Stack gap={0}>
      <Text size="sm">
        {describeRecurrence(r)} ({window.timezone})
      </Text>
      <Text size="xs" c="dimmed">
        from <TimeText iso={window.starts_at} />
        {window.ends_at ? (
          <>
            {" "}
            until <TimeText iso={window.ends_at} />
          </>
        ) : null}
      </Text>
    </Stack>
  );
}

function Scope({ window }: { window: MaintenanceWindow }) {
  const parts = [
    window.site_ids?.length ? `Sites: ${window.site_ids.join(", ")}` : null,
    window.device_types?.length ? `Device types: ${window.device_types.join(", ")}` : null,
    window.group_ids?.length ? `Groups: ${window.group_ids.join(", ")}` : null,
  ].filter((p): p is string => p !== null);
  if (!parts.length) return <Text size="sm">All devices</Text>;
  return (
    <Stack gap={0}>
      {parts.map((p) => (
        <Text size="sm" key={p}>
          {p}
        </Text>
      ))}
    </Stack>
  );
}

function WindowEditor({ window, onDone }: { window: MaintenanceWindow | null; onDone: () => void }) {
  const [form, setForm] = useState<WindowForm>(() => (window ? formOf(window) : newForm(new Date(), userTimeZone())));
  const [problem, setProblem] = useState<string | null>(null);
  const save = useSaveWindow();
  const set = <K extends keyof WindowForm>(key: K, value: WindowForm[K]) => setForm((f) => ({ ...f, [key]: value }));
  const zone = userTimeZone();
  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    const result = bodyOf(form);
    if ("problem" in result) {
      setProblem(result.problem);
      return;
    }
    setProblem(null);
    save.mutate({ windowId: window?.window_id ?? null, body: result.body }, { onSuccess: onDone });
  };
  const titleId = `editor-${window?.window_id ?? "new"}`;
  return (
    <Card withBorder padding="md" component="section" aria-labelledby={titleId} mb="lg">
      <form onSubmit={submit} noValidate>
        <Stack gap="sm">
          <Title order={2} size="h4" id={titleId}>
            {window ? `Edit ${window.name}` : "New maintenance window"}
          </Title>
          <TextInput label="Name" required value={form.name} onChange={(e) => set("name", e.currentTarget.value)} maxLength={128} />
          <div>
            <Text size="sm" fw={500} id={`${titleId}-kind`} mb={4}>
              When
            </Text>
            <SegmentedControl
              aria-labelledby={`${titleId}-kind`}
              value={form.kind}
              onChange={(v) =>
                setForm((f) => {
                  const kind = v as WindowForm["kind"];
                  // a one-off window needs an end; a weekly one usually runs until disabled
                  if (window === null && kind === "weekly") return { ...f, kind, ends: "" };
                  if (kind === "once" && !f.ends && f.starts)
                    return { ...f, kind, ends: toLocalInput(new Date(new Date(f.starts).getTime() + 3600_000)) };
                  return { ...f, kind };
                })
              }
              data={[
                { value: "once", label: "One-off" },
                { value: "weekly", label: "Weekly" },
              ]}
            />
          </div>
          <Group grow align="flex-start">
            <TextInput
              type="datetime-local"
              label={form.kind === "once" ? "Starts" : "Applies from"}
              description={`Your time zone (${zone})`}
              required
              value={form.starts}
              onChange={(e) => set("starts", e.currentTarget.value)}
            />
            <TextInput
              type="datetime-local"
              label={form.kind === "once" ? "Ends" : "Applies until (optional)"}
              description={`Your time zone (${zone})`}
              required={form.kind === "once"}
              value={form.ends}
              onChange={(e) => set("ends", e.currentTarget.value)}
            />
          </Group>
          {form.kind === "weekly" && (
            <>
              <Checkbox.Group label="Days" value={form.dow.map(String)} onChange={(v) => set("dow", v.map(Number))}>
                <Group gap="sm" mt={4}>
                  {DAY_NAMES.map((day, i) => (
                    <Checkbox key={day} value={String(i)} label={day} />
                  ))}
                </Group>
              </Checkbox.Group>
              <Group grow align="flex-start">
                <NumberInput label="From hour" min={0} max={23} value={form.startHour} onChange={(v) => set("startHour", Number(v) || 0)} />
                <NumberInput
                  label="To hour"
                  description="Windows must end the same day (24 = midnight)"
                  min={1}
                  max={24}
                  value={form.endHour}
                  onChange={(v) => set("endHour", Number(v) || 0)}
                />
                <TextInput
                  label="Time zone"
                  description="IANA name, e.g. Europe/London"
                  value={form.timezone}
                  onChange={(e) => set("timezone", e.currentTarget.value)}
                />
              </Group>
            </>
          )}
          <Group grow align="flex-start">
            <TextInput label="Sites" description="Comma-separated site IDs; empty = all" value={form.sites} onChange={(e) => set("sites", e.currentTarget.value)} />
            <TextInput
              label="Device types"
              description="Comma-separated; empty = all"
              value={form.deviceTypes}
              onChange={(e) => set("deviceTypes", e.currentTarget.value)}
            />
            <TextInput label="Groups" description="Comma-separated group IDs; empty = all" value={form.groups} onChange={(e) => set("groups", e.currentTarget.value)} />
          </Group>
          <Switch label="Enabled" checked={form.enabled} onChange={(e) => set("enabled", e.currentTarget.checked)} />
          {problem && (
            <Alert color="red" styles={ERROR_STYLES} title="Check the form" role="alert">
              {problem}
            </Alert>
          )}
          {save.isError && <SaveError title="Could not save the window" error={save.error} />}
          <Group>
            <Button type="submit" loading={save.isPending}>
              {window ? "Save changes" : "Create window"}
            </Button>
            <Button variant="default" onClick={onDone}>
              Cancel
            </Button>
          </Group>
        </Stack>
      </form>
    </Card>
  );
}

function RowActions({ window, onEdit, disabled }: { window: MaintenanceWindow; onEdit: () => void; disabled: boolean }) {
  const save = useSaveWindow();
  const remove = useDeleteWindow();
  const [confirm, setConfirm] = useState(false);
  return (
    <Stack gap="xs">
      <Group gap="xs" wrap="nowrap">
        <Switch
          aria-label={`Enabled: ${window.name}`}
          checked={window.enabled}
          disabled={save.isPending}
          onChange={(e) => save.mutate({ windowId: window.window_id, body: { enabled: e.currentTarget.checked } })}
        />
        <Button size="xs" variant="outline" onClick={onEdit} disabled={disabled} aria-label={`Edit ${window.name}`}>
          Edit
        </Button>
        {confirm ? (
          <>
            <Button size="xs" color="red.9" loading={remove.isPending} onClick={() => remove.mutate(window.window_id)} aria-label={`Confirm delete ${window.name}`}>
              Delete
            </Button>
            <Button size="xs" variant="default" onClick={() => setConfirm(false)}>
              Keep it
            </Button>
          </>
        ) : (
          <Button size="xs" variant="outline" color="red.9" onClick={() => setConfirm(true)} aria-label={`Delete ${window.name}`}>
            Delete…
          </Button>
        )}
      </Group>
      {save.isError && <SaveError title="Could not change the window" error={save.error} />}
      {remove.isError && <SaveError title="Could not delete the window" error={remove.error} />}
    </Stack>
  );
}

/** The tenant's maintenance windows; tenant admins create, edit, enable/disable and delete them. */
export function MaintenancePage() {
  const windows = useMaintenanceWindows();
  const { access } = useSession();
  const [editing, setEditing] = useState<string | "new" | null>(null);
  const rows = windows.data?.windows ?? [];
  // "Active now" follows the clock: re-read every 30 s
  const [now, setNow] = useState(() => new Date());
  useEffect(() => {
    const timer = setInterval(() => setNow(new Date()), 30_000);
    return () => clearInterval(timer);
  }, []);
  const activeCount = rows.filter((w) => isActiveNow(w, now)).length;
  return (
    <>
      <PageHeader title="Maintenance windows">
        {access.canWriteTenant && editing === null && windows.isSuccess && (
          <Button onClick={() => setEditing("new")}>New window</Button>
        )}
      </PageHeader>
      <Text c="dimmed" mb="md">
        Alerts of matching devices are suppressed while a window is active.
      </Text>
      {editing === "new" && <WindowEditor window={null} onDone={() => setEditing(null)} />}
      {windows.isPending ? (
        <Loading label="Loading maintenance windows…" />
      ) : windows.isError ? (
        <ErrorState error={windows.error} onRetry={() => void windows.refetch()} />
      ) : rows.length === 0 ? (
        <Empty title="No maintenance windows">Every alert rule fires as usual.</Empty>
      ) : (
        <>
          {editing !== null && editing !== "new" && rows.some((w) => w.window_id === editing) && (
            <WindowEditor
              key={editing}
              window={rows.find((w) => w.window_id === editing) ?? null}
              onDone={() => setEditing(null)}
            />
          )}
          <Text size="sm" mb="xs" role="status">
            {rows.length} window{rows.length === 1 ? "" : "s"}, {activeCount} active now
          </Text>
          <Table aria-label="Maintenance windows" striped={false} highlightOnHover>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                <Table.Th>When</Table.Th>
                <Table.Th>Scope</Table.Th>
                <Table.Th>State</Table.Th>
                {access.canWriteTenant && <Table.Th>Actions</Table.Th>}
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rows.map((w) => {
                const active = isActiveNow(w, now);
                return (
                  <Table.Tr key={w.window_id} bg={active ? "yellow.0" : undefined} aria-current={active ? "true" : undefined}>
                    <Table.Td>
                      <Text fw={600}>{w.name}</Text>
                    </Table.Td>
                    <Table.Td>
                      <When window={w} />
                    </Table.Td>
                    <Table.Td>
                      <Scope window={w} />
                    </Table.Td>
                    <Table.Td>
                      {active ? (
                        <Badge color="grape.9" variant="filled">
                          Active now
                        </Badge>
                      ) : w.enabled ? (
                        <Badge color="gray.7" variant="outline">
                          Enabled
                        </Badge>
                      ) : (
                        <Badge color="gray.7" variant="light">
                          Disabled
                        </Badge>
                      )}
                    </Table.Td>
                    {access.canWriteTenant && (
                      <Table.Td>
                        <RowActions window={w} onEdit={() => setEditing(w.window_id)} disabled={editing !== null} />
                      </Table.Td>
                    )}
                  </Table.Tr>
                );
              })}
            </Table.Tbody>
          </Table>
        </>
      )}
    </>
  );
}
