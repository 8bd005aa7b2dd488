import {
  Alert,
  Badge,
  Button,
  Drawer,
  Group,
  List,
  NumberInput,
  Select,
  Stack,
  Switch,
  Table,
  Text,
  TextInput,
  Title,
  UnstyledButton,
} from "@mantine/core";
import { lazy, Suspense, useMemo, useState } from "react";
import { ApiError } from "../api/errors";
import {
  backtestSummary,
  describeCondition,
  EMPTY_FORM,
  firingAreas,
  formFromRule,
  isEditable,
  OPERATORS,
  ruleBody,
  ruleMetric,
  useAlertRules,
  useBacktest,
  useDeleteRule,
  useDevicePicker,
  useEscalationPolicies,
  useSaveRule,
  useSetRuleEnabled,
  validateForm,
  type AlertRule,
  type BacktestResult,
  type EscalationPolicy,
  type Operator,
  type RuleForm,
} from "../api/rules";
import { useSession } from "../auth/AuthProvider";
import { SeverityBadge } from "../components/Badges";
import { Empty, ErrorState, Loading } from "../components/States";
import { TimeText } from "../components/TimeText";
import { PageHeader } from "./PageHeader";

const BacktestChart = lazy(() => import("../components/BacktestChart"));
const HOURS = 24;

/** An API error as the API words it (its `detail` and code). */
export function ApiErrorAlert({ title, error }: { title: string; error: unknown }) {
  const detail = error instanceof Error ? error.message : String(error);
  return (
    <Alert color="red" title={title} role="alert">
      <Text size="sm">{detail}</Text>
      {error instanceof ApiError && (
        <Text size="xs" c="dimmed">
          Error code: {error.code}
        </Text>
      )}
    </Alert>
  );
}

function policyName(policies: EscalationPolicy[] | undefined, id: number | null): string {
  if (id === null) return "Tenant default";
  return policies?.find((p) => p.policy_id === id)?.name ?? `Policy ${id}`;
}

type Editing = { rule: AlertRule | null } | null;

/** Alert rules of the tenant: every type listed; tenant admins create and edit threshold rules,
 * enable/disable and delete any rule, and backtest a rule before saving it. */
export function RulesPage() {
  const { access } = useSession();
  const rules = useAlertRules();
  const policies = useEscalationPolicies();
  const setEnabled = useSetRuleEnabled();
  const [editing, setEditing] = useState<Editing>(null);
  const canWrite = access.canWriteTenant;

  return (
    <>
      <PageHeader title="Alert rules">
        {canWrite && <Button onClick={() => setEditing({ rule: null })}>New threshold rule</Button>}
      </PageHeader>
      {setEnabled.isError && <ApiErrorAlert title="Could not change the rule" error={setEnabled.error} />}
      {rules.isPending ? (
        <Loading label="Loading alert rules…" />
      ) : rules.isError ? (
        <ErrorState error={rules.error} onRetry={() => void rules.refetch()} />
      ) : rules.data.rules.length === 0 ? (
        <Empty title="No alert rules yet">
          {canWrite ? "Create a threshold rule to open alerts when a metric crosses a value." : "A tenant administrator creates them."}
        </Empty>
      ) : (
        <>
          <Text size="sm" c="dimmed" mb="xs">
            {rules.data.total} rule{rules.data.total === 1 ? "" : "s"}
          </Text>
          <Table striped highlightOnHover aria-label="Alert rules">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                <Table.Th>Type</Table.Th>
                <Table.Th>Metric</Table.Th>
                <Table.Th>Condition</Table.Th>
                <Table.Th>Severity</Table.Th>
                <Table.Th>Enabled</Table.Th>
                <Table.Th>Escalation policy</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rules.data.rules.map((rule) => (
                <Table.Tr key={rule.rule_id}>
                  <Table.Td>
                    {canWrite ? (
                      <UnstyledButton
                        onClick={() => setEditing({ rule })}
                        aria-label={`Open rule ${rule.name}`}
                        style={{ textDecoration: "underline" }}
                      >
                        {rule.name}
                      </UnstyledButton>
                    ) : (
                      rule.name
                    )}
                  </Table.Td>
                  <Table.Td>{rule.rule_type}</Table.Td>
                  <Table.Td>{ruleMetric(rule)}</Table.Td>
                  <Table.Td>{describeCondition(rule)}</Table.Td>
                  <Table.Td>
                    <SeverityBadge severity={rule.severity} />
                  </Table.Td>
                  <Table.Td>
                    {canWrite ? (
                      <Switch
                        checked={rule.enabled}
                        aria-label={`Enabled: ${rule.name}`}
                        disabled={setEnabled.isPending && setEnabled.variables?.ruleId === rule.rule_id}
                        onChange={(e) => setEnabled.mutate({ ruleId: rule.rule_id, enabled: e.currentTarget.checked })}
                      />
                    ) : (
                      <Badge color={rule.enabled ? "teal.9" : "gray.7"} variant="filled">
                        {rule.enabled ? "Enabled" : "Disabled"}
                      </Badge>
                    )}
                  </Table.Td>
                  <Table.Td>{policies.isSuccess ? policyName(policies.data.policies, rule.escalation_policy_id) : rule.escalation_policy_id ?? "Tenant default"}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </>
      )}
      <Drawer
        opened={editing !== null}
        onClose={() => setEditing(null)}
        position="right"
        size="xl"
        title={editing?.rule ? `Rule: ${editing.rule.name}` : "New threshold rule"}
        closeButtonProps={{ "aria-label": "Close rule editor" }}
      >
        {editing && (
          <RuleEditor
            key={editing.rule?.rule_id ?? "new"}
            rule={editing.rule}
            policies={policies.data?.policies}
            onDone={() => setEditing(null)}
          />
        )}
      </Drawer>
    </>
  );
}

function RuleEditor({
  rule,
  policies,
  onDone,
}: {
  rule: AlertRule | null;
  policies: EscalationPolicy[] | undefined;
  onDone: () => void;
}) {
  const [form, setForm] = useState<RuleForm>(rule ? formFromRule(rule) : EMPTY_FORM);
  const [submitted, setSubmitted] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const save = useSaveRule();
  const remove = useDeleteRule();
  const errors = submitted ? validateForm(form) : {};
  const set = <K extends keyof RuleForm>(field: K, value: RuleForm[K]) => setForm((f) => ({ ...f, [field]: value }));

  if (rule && !isEditable(rule)) {
    return (
      <Stack>
        <Text>
          {rule.rule_type} rule: {describeCondition(rule)}
        </Text>
        <Alert color="gray" title="Not editable here">
          The console edits single-condition threshold rules; change {rule.rule_type} and multi-condition rules with
          the API (PATCH /customer/alert-rules/{"{rule_id}"}). You can enable, disable or delete it here.
        </Alert>
        <DeleteControls
          confirm={confirmDelete}
          setConfirm={setConfirmDelete}
          pending={remove.isPending}
          onDelete={() => remove.mutate(rule.rule_id, { onSuccess: onDone })}
        />
        {remove.isError && <ApiErrorAlert title="Could not delete the rule" error={remove.error} />}
      </Stack>
    );
  }

  const submit = () => {
    setSubmitted(true);
    if (Object.keys(validateForm(form)).length) return;
    save.mutate({ ruleId: rule?.rule_id ?? null, form }, { onSuccess: onDone });
  };

  const policyOptions = [
    { value: "", label: "Tenant default" },
    ...(policies ?? []).map((p) => ({ value: String(p.policy_id), label: p.is_default ? `${p.name} (default)` : p.name })),
  ];

  return (
    <Stack>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
        aria-label="Rule"
      >
        <Stack gap="sm">
          <TextInput label="Name" required value={form.name} error={errors.name} onChange={(e) => set("name", e.currentTarget.value)} />
          <Group grow align="flex-start">
            <TextInput
              label="Metric"
              required
              description="e.g. temperature_c"
              value={form.metric_name}
              error={errors.metric_name}
              onChange={(e) => set("metric_name", e.currentTarget.value.trim())}
            />
            <Select
              label="Operator"
              required
              data={OPERATORS}
              value={form.operator}
              allowDeselect={false}
              onChange={(v) => v && set("operator", v as Operator)}
            />
            <NumberInput
              label="Threshold"
              required
              value={form.threshold}
              error={errors.threshold}
              onChange={(v) => set("threshold", typeof v === "number" ? v : v === "" ? "" : Number(v))}
            />
          </Group>
          <Group grow align="flex-start">
            <NumberInput
              label="Duration (seconds)"
              description="How long the condition must hold"
              min={0}
              max={86400}
              allowDecimal={false}
              value={form.duration_seconds}
              error={errors.duration_seconds}
              onChange={(v) => set("duration_seconds", typeof v === "number" ? v : v === "" ? "" : Number(v))}
            />
            <Select
              label="Severity"
              description="5 is the most severe"
              data={["1", "2", "3", "4", "5"]}
              value={String(form.severity)}
              allowDeselect={false}
              error={errors.severity}
              onChange={(v) => v && set("severity", Number(v))}
            />
          </Group>
          <TextInput
            label="Sites"
            description="Site ids, comma separated; empty for every site"
            value={form.site_ids}
            error={errors.site_ids}
            onChange={(e) => set("site_ids", e.currentTarget.value)}
          />
          <Select
            label="Escalation policy"
            data={policyOptions}
            value={form.escalation_policy_id}
            allowDeselect={false}
            onChange={(v) => set("escalation_policy_id", v ?? "")}
          />
          <Switch label="Enabled" checked={form.enabled} onChange={(e) => set("enabled", e.currentTarget.checked)} />
          {save.isError && <ApiErrorAlert title="Could not save the rule" error={save.error} />}
          <Group>
            <Button type="submit" loading={save.isPending}>
              {rule ? "Save rule" : "Create rule"}
            </Button>
            <Button variant="default" onClick={onDone}>
              Cancel
            </Button>
          </Group>
        </Stack>
      </form>
      {rule && (
        <>
          <DeleteControls
            confirm={confirmDelete}
            setConfirm={setConfirmDelete}
            pending={remove.isPending}
            onDelete={() => remove.mutate(rule.rule_id, { onSuccess: onDone })}
          />
          {remove.isError && <ApiErrorAlert title="Could not delete the rule" error={remove.error} />}
        </>
      )}
      <BacktestPanel form={form} />
    </Stack>
  );
}

function DeleteControls({
  confirm,
  setConfirm,
  pending,
  onDelete,
}: {
  confirm: boolean;
  setConfirm: (v: boolean) => void;
  pending: boolean;
  onDelete: () => void;
}) {
  return confirm ? (
    <Group>
      <Text size="sm">Delete this rule? Its open alerts stay.</Text>
      <Button color="red.9" loading={pending} onClick={onDelete}>
        Delete
      </Button>
      <Button variant="default" onClick={() => setConfirm(false)}>
        Keep it
      </Button>
    </Group>
  ) : (
    <Group>
      <Button variant="outline" color="red.9" onClick={() => setConfirm(true)}>
        Delete rule…
      </Button>
    </Group>
  );
}

/** "This rule would have fired N times in the last 24 hours": the server replays stored telemetry. */
function BacktestPanel({ form }: { form: RuleForm }) {
  const backtest = useBacktest();
  const [deviceId, setDeviceId] = useState<string | null>(null);
  const devices = useDevicePicker(true);
  const [result, setResult] = useState<BacktestResult | null>(null);
  const [chart, setChart] = useState<{ deviceId: string; result: BacktestResult } | null>(null);
  const [tested, setTested] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [running, setRunning] = useState(false);
  const problems = validateForm(form, { needName: false });
  const current = JSON.stringify(ruleBody(form));

  const run = async () => {
    setRunning(true);
    setError(null);
    try {
      const answer = await backtest.mutateAsync({ form, deviceId });
      setResult(answer);
      setTested(current);
      const first = deviceId ?? answer.devices[0]?.device_id ?? null;
      if (deviceId) setChart({ deviceId, result: answer });
      else if (first) setChart({ deviceId: first, result: await backtest.mutateAsync({ form, deviceId: first }) });
      else setChart(null);
    } catch (e) {
      setError(e);
    } finally {
      setRunning(false);
    }
  };

  const showChart = async (id: string) => {
    setRunning(true);
    setError(null);
    try {
      setChart({ deviceId: id, result: await backtest.mutateAsync({ form, deviceId: id }) });
    } catch (e) {
      setError(e);
    } finally {
      setRunning(false);
    }
  };

  const deviceOptions = useMemo(
    () => (devices.data?.devices ?? []).map((d) => ({ value: d.device_id, label: d.name && d.name !== d.device_id ? `${d.device_id} (${d.name})` : d.device_id })),
    [devices.data],
  );

  return (
    <Stack component="section" aria-labelledby="backtest-title" gap="sm" mt="md">
      <Title order={2} size="h4" id="backtest-title">
        Backtest
      </Title>
      <Text size="sm" c="dimmed">
        Replays the last {HOURS} hours of stored telemetry through this rule on the server.
      </Text>
      <Group align="flex-end">
        <Select
          label="Device"
          placeholder={devices.isPending ? "Loading devices…" : "Every device in scope"}
          description={devices.isError ? `Devices could not be listed: ${devices.error.message}` : undefined}
          data={deviceOptions}
          value={deviceId}
          onChange={setDeviceId}
          searchable
          clearable
          nothingFoundMessage="No such device"
          style={{ flex: 1 }}
        />
        <Button onClick={() => void run()} loading={running} disabled={Object.keys(problems).length > 0}>
          Run backtest
        </Button>
      </Group>
      {Object.keys(problems).length > 0 && (
        <Text size="sm" c="dimmed">
          Fill in a valid metric and threshold to run a backtest.
        </Text>
      )}
      {error !== null && <ApiErrorAlert title="The backtest could not run" error={error} />}
      {result && <BacktestAnswer result={result} stale={tested !== current} chart={chart} onChart={(id) => void showChart(id)} />}
    </Stack>
  );
}

export function BacktestAnswer({
  result,
  stale,
  chart,
  onChart,
}: {
  result: BacktestResult;
  stale: boolean;
  chart: { deviceId: string; result: BacktestResult } | null;
  onChart: (deviceId: string) => void;
}) {
  const summary = backtestSummary(result, HOURS);
  const chartResult = chart?.result;
  const areas = useMemo(() => (chart && chartResult ? firingAreas(chartResult, chart.deviceId) : []), [chart, chartResult]);
  return (
    <Stack gap="xs">
      <Text fw={600} role="status" aria-label="Backtest result">
        {summary}
      </Text>
      {stale && (
        <Text size="sm" c="orange.9">
          The rule has changed since this backtest; run it again.
        </Text>
      )}
      <Text size="sm">
        {result.devices_evaluated} device{result.devices_evaluated === 1 ? "" : "s"} evaluated, {result.samples} samples,{" "}
        <TimeText iso={result.start} /> to <TimeText iso={result.end} />. Data:{" "}
        {result.source === "raw" ? "every stored message (exact replay)" : "per-minute rollup (approximate)"}.
      </Text>
      {result.approximations.length > 0 && (
        <div>
          <Text size="sm" fw={500}>
            What this answer leaves out
          </Text>
          <List size="sm">
            {result.approximations.map((a) => (
              <List.Item key={a}>{a}</List.Item>
            ))}
          </List>
        </div>
      )}
      {result.firing_truncated && <Text size="sm">Only the first firing periods were returned.</Text>}
      {chart && chartResult?.series && (
        <Stack gap={4}>
          <Text size="sm" fw={500}>
            {chart.deviceId}: the rule's metric with its threshold; shaded where the condition held
          </Text>
          <Suspense fallback={<Loading label="Loading chart…" />}>
            <BacktestChart
              deviceId={chart.deviceId}
              series={chartResult.series}
              thresholds={chartResult.thresholds}
              firing={areas}
              description={`${backtestSummary(chartResult, HOURS)}; ${areas.length} period${areas.length === 1 ? "" : "s"} where the condition held`}
            />
          </Suspense>
        </Stack>
      )}
      {result.devices.length > 0 && (
        <Table aria-label="Devices that would have fired">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Device</Table.Th>
              <Table.Th>Fires</Table.Th>
              <Table.Th>First</Table.Th>
              <Table.Th>Last</Table.Th>
              <Table.Th>Chart</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {result.devices.map((d) => (
              <Table.Tr key={d.device_id}>
                <Table.Td>{d.device_id}</Table.Td>
                <Table.Td>{d.fires}</Table.Td>
                <Table.Td>
                  <TimeText iso={d.first_at} relative />
                </Table.Td>
                <Table.Td>
                  <TimeText iso={d.last_at} relative />
                </Table.Td>
                <Table.Td>
                  <Button
                    size="compact-xs"
                    variant={chart?.deviceId === d.device_id ? "filled" : "subtle"}
                    color={chart?.deviceId === d.device_id ? "blue.9" : undefined}
                    onClick={() => onChart(d.device_id)}
                    aria-label={`Show chart of ${d.device_id}`}
                    aria-pressed={chart?.deviceId === d.device_id}
                  >
                    Show chart
                  </Button>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}
