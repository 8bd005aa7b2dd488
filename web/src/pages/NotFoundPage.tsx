import { Anchor, Stack, Text } from "@mantine/core";
import { Link } from "react-router-dom";
import { PageHeader } from "./PageHeader";

export function NotFoundPage() {
  return (
    <Stack>
      <PageHeader title="Page not found" />
      <Text>There is no console page at this address.</Text>
      <Anchor component={Link} to="/">
        Go to your start page
      </Anchor>
    </Stack>
  );
}
