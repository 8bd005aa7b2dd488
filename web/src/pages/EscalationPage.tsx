import { useState } from "react";
import { Badge, Button, Card, Group, List, Stack, Table, Text, Title } from "@mantine/core";
import { usePolicies, type Level, type Policy, type Target } from "../api/oncall";
import { Empty, ErrorState, Loading } from "../components/States";
import { TimeText } from "../components/TimeText";
import { PageHeader } from "./PageHeader";
import { describeDelay, targetLabel } from "./oncall/escalation";
import { PolicyEditor } from "./oncall/PolicyEditor";
import { useSession } from "../auth/AuthProvider";

function TargetItem({ target }: { target: Target }) {
  return <List.Item>{targetLabel(target)}</List.Item>;
}

function LevelsTable({ policy }: { policy: Policy }) {
  const levels: Level[] = [...policy.levels].sort((a, b) => a.level_number - b.level_number);
  return (
    <Table aria-label={`Levels of ${policy.name}`} striped>
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Level</Table.Th>
          <Table.Th>Fires</Table.Th>
          <Table.Th>Notifies</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {levels.map((level) => (
          <Table.Tr key={level.level_number}>
            <Table.Td>{level.level_number}</Table.Td>
            <Table.Td>{describeDelay(level.level_number, level.delay_minutes)}</Table.Td>
            <Table.Td>
              <List size="sm" listStyleType="none" spacing={2}>
                {level.targets.map((target) => (
                  <TargetItem key={`${target.type}-${target.id}`} target={target} />
                ))}
              </List>
            </Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

export function EscalationPage() {
  const policies = usePolicies();
  const { access } = useSession();
  // null: nothing open; "new": a new policy; a number: that policy
  const [editing, setEditing] = useState<number | "new" | null>(null);
  const rows = policies.data?.policies ?? [];
  return (
    <>
      <PageHeader title="Escalation policies">
        {access.canWriteTenant && editing === null && policies.isSuccess && rows.length < 100 && (
          <Button onClick={() => setEditing("new")}>New policy</Button>
        )}
      </PageHeader>
      {editing === "new" && (
        <Stack mb="lg">
          <PolicyEditor policy={null} onDone={() => setEditing(null)} />
        </Stack>
      )}
      {policies.isPending ? (
        <Loading label="Loading escalation policies…" />
      ) : policies.isError ? (
        <ErrorState error={policies.error} onRetry={() => void policies.refetch()} />
      ) : rows.length === 0 ? (
        <Empty title="No escalation policies">Alerts notify no one beyond the alert rules' own channels.</Empty>
      ) : (
        <Stack gap="lg">
          {rows.map((policy) =>
            editing === policy.policy_id ? (
              <PolicyEditor key={policy.policy_id} policy={policy} onDone={() => setEditing(null)} />
            ) : (
            <Card key={policy.policy_id} withBorder padding="md" component="section" aria-labelledby={`policy-${policy.policy_id}`}>
              <Group justify="space-between" mb="xs">
                <Group gap="xs">
                  <Title order={2} size="h4" id={`policy-${policy.policy_id}`}>
                    {policy.name}
                  </Title>
                  {policy.is_default && (
                    <Badge color="teal.9" variant="filled">
                      Default
                    </Badge>
                  )}
                </Group>
                <Group gap="sm">
                  <Text size="sm" c="dimmed">
                    Updated <TimeText iso={policy.updated_at} />
                  </Text>
                  {access.canWriteTenant && editing === null && (
                    <Button size="xs" variant="outline" onClick={() => setEditing(policy.policy_id)} aria-label={`Edit ${policy.name}`}>
                      Edit
                    </Button>
                  )}
                </Group>
              </Group>
              {policy.description && <Text mb="xs">{policy.description}</Text>}
              <Text size="sm" mb="xs">
                {policy.repeat_count === 0
                  ? "Runs its levels once."
                  : `Runs all levels again ${policy.repeat_count} more time${policy.repeat_count === 1 ? "" : "s"} while the alert stays unacknowledged.`}
              </Text>
              <LevelsTable policy={policy} />
            </Card>
            ),
          )}
        </Stack>
      )}
    </>
  );
}
