import { Button, Stack, Text, Title } from "@mantine/core";
import { useSession } from "./AuthProvider";
import { CenteredPage } from "../components/CenteredPage";

/** Shown when nobody is signed in, or when the session ended and the refresh token could not renew it. */
export function SignInPage({ expired }: { expired: boolean }) {
  const { signIn } = useSession();
  return (
    <CenteredPage>
      <Stack>
        <Title order={1}>{expired ? "Your session has expired" : "Pulse console"}</Title>
        <Text>
          {expired
            ? "Sign in again to continue where you were."
            : "Fleet status, alerts and devices of your organisation. Sign in to continue."}
        </Text>
        <Button onClick={() => void signIn()} size="md">
          Sign in
        </Button>
      </Stack>
    </CenteredPage>
  );
}
