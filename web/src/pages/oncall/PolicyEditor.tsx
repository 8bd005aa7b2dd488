import { useState } from "react";
import { Button, Card, Checkbox, CloseButton, Group, NativeSelect, Stack, Text, TextInput, Textarea, Title } from "@mantine/core";
import { useSavePolicy, useSchedules, useUsers, type Policy, type Target } from "../../api/oncall";
import { ErrorState } from "../../components/States";
import { draftFromPolicy, draftProblem, draftToWrite, emptyDraft, targetLabel, type PolicyDraft } from "./escalation";

/** Create or edit a policy (tenant admins): name, default, repeat, and levels of delay + targets
 * (on-call schedules or users; channel targets already on a level are kept). */
export function PolicyEditor({ policy, onDone }: { policy: Policy | null; onDone: () => void }) {
  const [draft, setDraft] = useState<PolicyDraft>(() => (policy ? draftFromPolicy(policy) : emptyDraft()));
  const [touched, setTouched] = useState(false);
  const schedules = useSchedules();
  const users = useUsers();
  const save = useSavePolicy();
  const problem = draftProblem(draft);
  const title = policy ? `Edit ${policy.name}` : "New escalation policy";

  const choices: Target[] = [
    ...(schedules.data?.schedules ?? []).map((s) => ({ type: "schedule" as const, id: s.schedule_id, name: s.name })),
    ...(users.data?.users ?? []).map((u) => ({ type: "user" as const, id: u.user_id, name: u.username })),
  ];
  const setLevel = (index: number, change: Partial<PolicyDraft["levels"][number]>) =>
    setDraft((d) => ({ ...d, levels: d.levels.map((l, i) => (i === index ? { ...l, ...change } : l)) }));

  return (
    <Card withBorder padding="md" component="section" aria-label={title}>
      <form
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          setTouched(true);
          if (problem) return;
          save.mutate({ policyId: policy?.policy_id ?? null, body: draftToWrite(draft) }, { onSuccess: onDone });
        }}
      >
        <Stack gap="sm">
          <Title order={2} size="h4">
            {title}
          </Title>
          <Group align="flex-end">
            <TextInput
              label="Name"
              withAsterisk
              value={draft.name}
              maxLength={200}
              onChange={(e) => setDraft({ ...draft, name: e.currentTarget.value })}
            />
            <TextInput
              label="Repeat (0–10 times)"
              inputMode="numeric"
              value={draft.repeat}
              onChange={(e) => setDraft({ ...draft, repeat: e.currentTarget.value })}
            />
            <Checkbox
              label="Default policy of the tenant"
              checked={draft.isDefault}
              onChange={(e) => setDraft({ ...draft, isDefault: e.currentTarget.checked })}
              mb={8}
            />
          </Group>
          <Textarea
            label="Description"
            value={draft.description}
            maxLength={2000}
            autosize
            minRows={1}
            onChange={(e) => setDraft({ ...draft, description: e.currentTarget.value })}
          />
          {(schedules.isError || users.isError) && <ErrorState error={schedules.error ?? users.error} />}
          {draft.levels.map((level, index) => (
            <Card key={index} withBorder padding="sm" component="fieldset" aria-label={`Level ${index + 1}`}>
              <Group justify="space-between" mb="xs">
                <Text fw={600}>Level {index + 1}</Text>
                {draft.levels.length > 1 && (
                  <Button
                    size="xs"
                    variant="subtle"
                    color="red.9"
                    onClick={() => setDraft((d) => ({ ...d, levels: d.levels.filter((_, i) => i !== index) }))}
                  >
                    Remove level {index + 1}
                  </Button>
                )}
              </Group>
              <Group align="flex-end" wrap="wrap">
                <TextInput
                  label={index === 0 ? "Minutes after the alert opens" : "Minutes after the previous level"}
                  inputMode="numeric"
                  value={level.delay}
                  onChange={(e) => setLevel(index, { delay: e.currentTarget.value })}
                />
                <NativeSelect
                  label={`Add a target to level ${index + 1}`}
                  value=""
                  onChange={(e) => {
                    const chosen = choices.find((c) => `${c.type}:${c.id}` === e.currentTarget.value);
                    if (chosen && !level.targets.some((t) => t.type === chosen.type && t.id === chosen.id))
                      setLevel(index, { targets: [...level.targets, chosen] });
                  }}
                  data={[
                    { value: "", label: "Choose…" },
                    ...choices.map((c) => ({ value: `${c.type}:${c.id}`, label: targetLabel(c) })),
                  ]}
                />
              </Group>
              <Group gap="xs" mt="xs" aria-label={`Targets of level ${index + 1}`} role="list">
                {level.targets.length === 0 && <Text size="sm" c="dimmed">No targets yet.</Text>}
                {level.targets.map((target) => (
                  <Group key={`${target.type}:${target.id}`} gap={2} role="listitem" bd="1px solid gray.4" px={6} style={{ borderRadius: 4 }}>
                    <Text size="sm">{targetLabel(target)}</Text>
                    <CloseButton
                      size="sm"
                      aria-label={`Remove ${targetLabel(target)} from level ${index + 1}`}
                      onClick={() => setLevel(index, { targets: level.targets.filter((t) => t !== target) })}
                    />
                  </Group>
                ))}
              </Group>
            </Card>
          ))}
          <Group>
            <Button
              variant="outline"
              disabled={draft.levels.length >= 20}
              onClick={() => setDraft((d) => ({ ...d, levels: [...d.levels, { delay: "5", targets: [] }] }))}
            >
              Add a level
            </Button>
          </Group>
          {touched && problem && (
            <Text c="red.9" size="sm" role="alert">
              {problem}
            </Text>
          )}
          {save.isError && <ErrorState error={save.error} />}
          <Group>
            <Button type="submit" loading={save.isPending}>
              {policy ? "Save policy" : "Create policy"}
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
