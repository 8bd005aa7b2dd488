import { Center, Paper } from "@mantine/core";
import type { ReactNode } from "react";

export function CenteredPage({ children }: { children: ReactNode }) {
  return (
    <Center component="main" mih="100vh" p="md">
      <Paper withBorder p="xl" maw={520} w="100%">
        {children}
      </Paper>
    </Center>
  );
}
