import { AppShell, Burger, Group, Menu, NavLink, ScrollArea, Stack, Text, UnstyledButton } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { Link, Outlet, useLocation } from "react-router-dom";
import { useSession } from "../auth/AuthProvider";
import { ConnectionIndicator } from "../live/ConnectionIndicator";
import { userTimeZone } from "../components/time";
import { navigationFor } from "./navigation";

export function Shell() {
  const { access, user, signOut } = useSession();
  const [opened, { toggle, close }] = useDisclosure();
  const location = useLocation();
  const groups = navigationFor(access);
  const name = (user?.profile.preferred_username as string | undefined) ?? user?.profile.sub ?? "";

  return (
    <AppShell header={{ height: 56 }} navbar={{ width: 220, breakpoint: "sm", collapsed: { mobile: !opened } }} padding="md">
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap">
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label="Toggle navigation" />
            <Text fw={700} size="lg" component={Link} to="/" c="inherit" td="none">
              Pulse
            </Text>
            {access.tenantId && (
              <Text size="sm" c="dimmed" visibleFrom="xs">
                tenant {access.tenantId}
              </Text>
            )}
          </Group>
          <Group gap="sm" wrap="nowrap">
            <ConnectionIndicator />
            <Text size="xs" c="dimmed" visibleFrom="md">
              Times in {userTimeZone()}
            </Text>
            <Menu position="bottom-end">
              <Menu.Target>
                <UnstyledButton aria-label={`Account menu for ${name}`} px="xs">
                  <Text size="sm">{name}</Text>
                </UnstyledButton>
              </Menu.Target>
              <Menu.Dropdown>
                <Menu.Label>{[...access.roles].join(", ") || "no role"}</Menu.Label>
                <Menu.Item onClick={() => void signOut()}>Sign out</Menu.Item>
              </Menu.Dropdown>
            </Menu>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" aria-label="Main navigation">
        <ScrollArea>
          <Stack gap="md" component="nav">
            {groups.map((group) => (
              <div key={group.group}>
                <Text size="xs" fw={700} c="dimmed" tt="uppercase" px="sm" mb={4}>
                  {group.group}
                </Text>
                {group.entries.map((entry) => (
                  <NavLink
                    key={entry.path}
                    component={Link}
                    to={entry.path}
                    label={entry.label}
                    variant="filled"
                    active={location.pathname.startsWith(entry.path)}
                    aria-current={location.pathname.startsWith(entry.path) ? "page" : undefined}
                    onClick={close}
                  />
                ))}
              </div>
            ))}
          </Stack>
        </ScrollArea>
      </AppShell.Navbar>
      <AppShell.Main>
        <Outlet />
      </AppShell.Main>
    </AppShell>
  );
}
