import { createContext, useContext, useMemo, type ReactNode } from "react";
import { createApiClient, type ApiClient } from "./client";
import { useSession } from "../auth/AuthProvider";

const ApiContext = createContext<ApiClient | null>(null);

export function ApiProvider({ baseUrl, children }: { baseUrl: string; children: ReactNode }) {
  const { accessToken, markExpired, userManager } = useSession();
  const client = useMemo(
    () =>
      createApiClient({
        baseUrl,
        accessToken,
        onSessionExpired: markExpired,
        renew: async () => {
          try {
            return (await userManager.signinSilent())?.access_token ?? null;
          } catch {
            return null;
          }
        },
      }),
    [baseUrl, accessToken, markExpired, userManager],
  );
  return <ApiContext.Provider value={client}>{children}</ApiContext.Provider>;
}

export function useApi(): ApiClient {
  const client = useContext(ApiContext);
  if (!client) throw new Error("useApi outside ApiProvider");
  return client;
}
