import { Alert, Button, Center, Loader, Stack, Text } from "@mantine/core";
import type { ReactNode } from "react";
import { ApiError } from "../api/errors";

export function Loading({ label = "Loading…" }: { label?: string }) {
  return (
    <Center p="xl" role="status" aria-live="polite">
      <Stack align="center" gap="xs">
        <Loader size="md" aria-hidden />
        <Text c="dimmed">{label}</Text>
      </Stack>
    </Center>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <Center p="xl">
      <Stack align="center" gap={4}>
        <Text fw={600}>{title}</Text>
        {children && <Text c="dimmed" ta="center">{children}</Text>}
      </Stack>
    </Center>
  );
}

export function Forbidden({ what }: { what: string }) {
  return (
    <Alert color="orange" title="Not available to your account" role="alert">
      Your role does not allow {what}. Ask a tenant administrator if you need it.
    </Alert>
  );
}

/** An error from a query or mutation: the API's `detail` when it sent one. */
export function ErrorState({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  if (error instanceof ApiError && error.forbidden) return <Forbidden what="this view" />;
  const detail = error instanceof Error ? error.message : String(error);
  const code = error instanceof ApiError ? error.code : null;
  return (
    <Alert color="red" title="Could not load this" role="alert">
      <Stack gap="xs" align="flex-start">
        <Text size="sm">{detail}</Text>
        {code && (
          <Text size="xs" c="dimmed">
            Error code: {code}
          </Text>
        )}
        {onRetry && (
          <Button size="xs" variant="outline" color="red.9" onClick={onRetry}>
            Try again
          </Button>
        )}
      </Stack>
    </Alert>
  );
}
