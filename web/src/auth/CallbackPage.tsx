import { useEffect, useRef, useState } from "react";
import { useNavigate } from "react-router-dom";
import { Button, Stack, Text, Title } from "@mantine/core";
import { useSession } from "./AuthProvider";
import { CenteredPage } from "../components/CenteredPage";
import { Loading } from "../components/States";

/** /app/callback: exchanges the authorization code (PKCE) and returns to where sign-in started. */
export function CallbackPage() {
  const { userManager, signIn } = useSession();
  const navigate = useNavigate();
  const [problem, setProblem] = useState<string | null>(null);
  const started = useRef(false);

  useEffect(() => {
    if (started.current) return; // React strict mode runs effects twice; a code is single-use
    started.current = true;
    userManager.signinRedirectCallback().then(
      (user) => {
        const returnTo = (user.state as { returnTo?: string } | undefined)?.returnTo ?? "/";
        navigate(returnTo.startsWith("/") && !returnTo.startsWith("/callback") ? returnTo : "/", {
          replace: true,
        });
      },
      (error: unknown) => setProblem(error instanceof Error ? error.message : String(error)),
    );
  }, [userManager, navigate]);

  if (!problem) return <Loading label="Signing you in…" />;
  return (
    <CenteredPage>
      <Stack>
        <Title order={1}>Sign-in did not complete</Title>
        <Text>{problem}</Text>
        <Button onClick={() => void signIn("/")}>Sign in again</Button>
      </Stack>
    </CenteredPage>
  );
}
