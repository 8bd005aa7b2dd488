import { useState, type FormEvent } from "react";
import {
  Alert,
  Badge,
  Button,
  Card,
  Checkbox,
  Group,
  NumberInput,
  PasswordInput,
  Select,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from "@mantine/core";
import {
  ALERT_EVENTS,
  ALERT_TYPES,
  describeConfig,
  newChannelBody,
  useChannels,
  useCreateChannel,
  useCreateRoutingRule,
  useDeleteChannel,
  useDeleteRoutingRule,
  useRoutingRules,
  useTestChannel,
  type AlertEvent,
  type Channel,
  type ChannelKind,
  type TestResult,
} from "../api/notifications";
import { ApiError } from "../api/errors";
import { useSession } from "../auth/AuthProvider";
import { Empty, ErrorState, Loading } from "../components/States";
import { TimeText } from "../components/TimeText";
import { PageHeader } from "./PageHeader";

// Mantine's light alert title (shade 6) is below 4.5:1 on its tinted background; shade 9 is not.
const darkTitle = (color: string) => ({ title: { color: `var(--mantine-color-${color}-9)` } });

/** A mutation's failure as the API words it (detail and code). */
export function MutationError({ title, error }: { title: string; error: unknown }) {
  const detail = error instanceof Error ? error.message : String(error);
  return (
    <Alert color="red" title={title} role="alert" styles={darkTitle("red")}>
      <Text size="sm">{detail}</Text>
      {error instanceof ApiError && (
        <Text size="xs" c="dimmed">
          HTTP {error.status} · {error.code}
        </Text>
      )}
    </Alert>
  );
}

/** The answer of a test send: ok, or what went wrong as the API reports it. */
export function TestAnswer({ name, result, error }: { name: string; result?: TestResult; error?: unknown }) {
  if (error) return <MutationError title={`Test of ${name} was refused`} error={error} />;
  if (!result) return null;
  return (
    <div role="status" aria-label={`Test result for ${name}`}>
    <Alert
      color={result.ok ? "teal" : "red"}
        styles={darkTitle(result.ok ? "teal" : "red")}
      title={result.ok ? `Test of ${name} delivered` : `Test of ${name} failed`}
    >
      <Text size="sm">
        {result.reason}
        {result.http_status !== null ? ` · HTTP ${result.http_status}` : ""} · {result.latency_ms} ms
      </Text>
      {result.error && <Text size="sm">{result.error}</Text>}
      <Text size="xs" c="dimmed">
        Message id {result.message_id}
      </Text>
    </Alert>
    </div>
  );
}

function NewChannelForm({ onDone }: { onDone: () => void }) {
  const create = useCreateChannel();
  const [kind, setKind] = useState<ChannelKind>("webhook");
  const [name, setName] = useState("");
  const [url, setUrl] = useState("");
  const [secret, setSecret] = useState("");
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate(newChannelBody(kind, name, url, secret), { onSuccess: onDone });
  };
  return (
    <Card withBorder component="form" onSubmit={submit} aria-label="New channel" mb="md">
      <Stack gap="sm">
        <Title order={2} size="h4">
          New channel
        </Title>
        <Select
          label="Type"
          data={[
            { value: "webhook", label: "Webhook" },
            { value: "slack", label: "Slack (incoming webhook)" },
          ]}
          value={kind}
          onChange={(v) => v && setKind(v as ChannelKind)}
          allowDeselect={false}
        />
        <TextInput label="Name" required maxLength={100} value={name} onChange={(e) => setName(e.currentTarget.value)} />
        <TextInput
          label="URL"
          required
          type="url"
          value={url}
          onChange={(e) => setUrl(e.currentTarget.value)}
          description="Private, loopback and metadata addresses are refused."
        />
        {kind === "webhook" && (
          <PasswordInput
            label="Signing secret (optional)"
            value={secret}
            onChange={(e) => setSecret(e.currentTarget.value)}
            autoComplete="new-password"
          />
        )}
        {create.isError && <MutationError title="The channel was not saved" error={create.error} />}
        <Group>
          <Button type="submit" loading={create.isPending}>
            Save channel
          </Button>
          <Button variant="default" onClick={onDone}>
            Cancel
          </Button>
        </Group>
      </Stack>
    </Card>
  );
}

function NewRuleForm({ channels, onDone }: { channels: Channel[]; onDone: () => void }) {
  const create = useCreateRoutingRule();
  const [channelId, setChannelId] = useState<string | null>(channels[0] ? String(channels[0].channel_id) : null);
  const [minSeverity, setMinSeverity] = useState<string | null>(null);
  const [alertType, setAlertType] = useState<string | null>(null);
  const [tagKey, setTagKey] = useState("");
  const [tagVal, setTagVal] = useState("");
  const [events, setEvents] = useState<AlertEvent[]>(["OPEN"]);
  const [throttle, setThrottle] = useState<number>(0);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!channelId) return;
    create.mutate(
      {
        channel_id: Number(channelId),
        min_severity: minSeverity ? Number(minSeverity) : null,
        alert_type: alertType,
        device_tag_key: tagKey.trim() || null,
        device_tag_val: tagKey.trim() && tagVal.trim() ? tagVal.trim() : null,
        deliver_on: events,
        throttle_minutes: throttle,
        is_enabled: true,
      },
      { onSuccess: onDone },
    );
  };
  return (
    <Card withBorder component="form" onSubmit={submit} aria-label="New routing rule" mb="md">
      <Stack gap="sm">
        <Title order={2} size="h4">
          New routing rule
        </Title>
        <Select
          label="Channel"
          required
          data={channels.map((c) => ({ value: String(c.channel_id), label: c.name }))}
          value={channelId}
          onChange={setChannelId}
          allowDeselect={false}
        />
        <Group grow>
          <Select
            label="Minimum severity"
            placeholder="Any"
            clearable
            data={["1", "2", "3", "4", "5"]}
            value={minSeverity}
            onChange={setMinSeverity}
          />
          <Select
            label="Alert type"
            placeholder="Any"
            clearable
            data={[...ALERT_TYPES]}
            value={alertType}
            onChange={setAlertType}
          />
        </Group>
        <Group grow>
          <TextInput label="Device tag key (optional)" value={tagKey} onChange={(e) => setTagKey(e.currentTarget.value)} />
          <TextInput
            label="Tag value (optional)"
            value={tagVal}
            disabled={!tagKey.trim()}
            onChange={(e) => setTagVal(e.currentTarget.value)}
          />
        </Group>
        <Checkbox.Group
          label="Deliver on"
          required
          value={events}
          onChange={(v) => setEvents(v as AlertEvent[])}
        >
          <Group mt={4}>
            {ALERT_EVENTS.map((e) => (
              <Checkbox key={e} value={e} label={e} />
            ))}
          </Group>
        </Checkbox.Group>
        <NumberInput
          label="Throttle (minutes, 0 = never)"
          min={0}
          max={1440}
          value={throttle}
          onChange={(v) => setThrottle(typeof v === "number" ? v : 0)}
        />
        {create.isError && <MutationError title="The routing rule was not saved" error={create.error} />}
        <Group>
          <Button type="submit" loading={create.isPending} disabled={!channelId || events.length === 0}>
            Save rule
          </Button>
          <Button variant="default" onClick={onDone}>
            Cancel
          </Button>
        </Group>
      </Stack>
    </Card>
  );
}

function ChannelRow({ channel, canWrite }: { channel: Channel; canWrite: boolean }) {
  const test = useTestChannel();
  const remove = useDeleteChannel();
  return (
    <>
      <Table.Tr>
        <Table.Td>{channel.name}</Table.Td>
        <Table.Td>{channel.channel_type}</Table.Td>
        <Table.Td>
          <Text size="sm" style={{ wordBreak: "break-all" }}>
            {describeConfig(channel.config)}
          </Text>
        </Table.Td>
        <Table.Td>
          <Badge color={channel.is_enabled ? "teal.9" : "gray.7"} variant="filled">
            {channel.is_enabled ? "Enabled" : "Disabled"}
          </Badge>
        </Table.Td>
        <Table.Td>
          <TimeText iso={channel.updated_at} />
        </Table.Td>
        {canWrite && (
          <Table.Td>
            <Group gap="xs" wrap="nowrap">
              <Button
                size="xs"
                variant="outline"
                color="blue.9"
                loading={test.isPending}
                onClick={() => test.mutate(channel.channel_id)}
                aria-label={`Test ${channel.name}`}
              >
                Test
              </Button>
              <Button
                size="xs"
                variant="outline"
                color="red.9"
                loading={remove.isPending}
                onClick={() => {
                  if (window.confirm(`Delete the channel ${channel.name}?`)) remove.mutate(channel.channel_id);
                }}
                aria-label={`Delete ${channel.name}`}
              >
                Delete
              </Button>
            </Group>
          </Table.Td>
        )}
      </Table.Tr>
      {(test.isSuccess || test.isError || remove.isError) && (
        <Table.Tr>
          <Table.Td colSpan={canWrite ? 6 : 5}>
            <TestAnswer name={channel.name} result={test.data} error={test.error ?? undefined} />
            {remove.isError && <MutationError title={`${channel.name} was not deleted`} error={remove.error} />}
          </Table.Td>
        </Table.Tr>
      )}
    </>
  );
}

function RulesTable({ canWrite }: { canWrite: boolean }) {
  const rules = useRoutingRules();
  const remove = useDeleteRoutingRule();
  if (rules.isPending) return <Loading label="Loading routing rules…" />;
  if (rules.isError) return <ErrorState error={rules.error} onRetry={() => void rules.refetch()} />;
  if (rules.data.rules.length === 0)
    return <Empty title="No routing rules">No alert is sent to a notification channel.</Empty>;
  return (
    <>
      {remove.isError && <MutationError title="The routing rule was not deleted" error={remove.error} />}
      <Table.ScrollContainer minWidth={700}>
        <Table aria-label="Routing rules" striped>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Channel</Table.Th>
              <Table.Th>Min severity</Table.Th>
              <Table.Th>Alert type</Table.Th>
              <Table.Th>Device tag</Table.Th>
              <Table.Th>Deliver on</Table.Th>
              <Table.Th>Throttle</Table.Th>
              <Table.Th>State</Table.Th>
              {canWrite && <Table.Th>Actions</Table.Th>}
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rules.data.rules.map((rule) => (
              <Table.Tr key={rule.rule_id}>
                <Table.Td>
                  {rule.channel_name} ({rule.channel_type})
                </Table.Td>
                <Table.Td>{rule.min_severity ?? "Any"}</Table.Td>
                <Table.Td>{rule.alert_type ?? "Any"}</Table.Td>
                <Table.Td>
                  {rule.device_tag_key
                    ? rule.device_tag_val
                      ? `${rule.device_tag_key}:${rule.device_tag_val}`
                      : rule.device_tag_key
                    : "Any"}
                </Table.Td>
                <Table.Td>{rule.deliver_on.join(", ")}</Table.Td>
                <Table.Td>{rule.throttle_minutes === 0 ? "None" : `${rule.throttle_minutes} min`}</Table.Td>
                <Table.Td>{rule.is_enabled ? "Enabled" : "Disabled"}</Table.Td>
                {canWrite && (
                  <Table.Td>
                    <Button
                      size="xs"
                      variant="outline"
                      color="red.9"
                      onClick={() => {
                        if (window.confirm(`Delete this routing rule to ${rule.channel_name}?`)) remove.mutate(rule.rule_id);
                      }}
                      aria-label={`Delete routing rule ${rule.rule_id} to ${rule.channel_name}`}
                    >
                      Delete
                    </Button>
                  </Table.Td>
                )}
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
    </>
  );
}

export function NotificationsPage() {
  const channels = useChannels();
  const { access } = useSession();
  const canWrite = access.canWriteTenant;
  const [form, setForm] = useState<"channel" | "rule" | null>(null);
  const rows = channels.data?.channels ?? [];
  return (
    <>
      <PageHeader title="Notifications">
        {canWrite && form === null && channels.isSuccess && (
          <Group gap="sm">
            <Button onClick={() => setForm("channel")}>New channel</Button>
            {rows.length > 0 && (
              <Button variant="outline" onClick={() => setForm("rule")}>
                New routing rule
              </Button>
            )}
          </Group>
        )}
      </PageHeader>
      {form === "channel" && <NewChannelForm onDone={() => setForm(null)} />}
      {form === "rule" && <NewRuleForm channels={rows} onDone={() => setForm(null)} />}
      <Stack gap="lg">
        <section aria-labelledby="channels-title">
          <Title order={2} size="h3" id="channels-title" mb="xs">
            Channels
          </Title>
          {channels.isPending ? (
            <Loading label="Loading channels…" />
          ) : channels.isError ? (
            <ErrorState error={channels.error} onRetry={() => void channels.refetch()} />
          ) : rows.length === 0 ? (
            <Empty title="No notification channels">
              {canWrite ? "Add a webhook or Slack channel to send alerts out." : "A tenant administrator can add one."}
            </Empty>
          ) : (
            <Table.ScrollContainer minWidth={700}>
              <Table aria-label="Notification channels" striped>
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>Name</Table.Th>
                    <Table.Th>Type</Table.Th>
                    <Table.Th>Target</Table.Th>
                    <Table.Th>State</Table.Th>
                    <Table.Th>Updated</Table.Th>
                    {canWrite && <Table.Th>Actions</Table.Th>}
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {rows.map((channel) => (
                    <ChannelRow key={channel.channel_id} channel={channel} canWrite={canWrite} />
                  ))}
                </Table.Tbody>
              </Table>
            </Table.ScrollContainer>
          )}
        </section>
        <section aria-labelledby="rules-title">
          <Title order={2} size="h3" id="rules-title" mb="xs">
            Routing rules
          </Title>
          <RulesTable canWrite={canWrite} />
        </section>
      </Stack>
    </>
  );
}
