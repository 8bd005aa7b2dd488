import { createContext, useContext, useEffect, useState, type ReactNode } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { useSession } from "../auth/AuthProvider";
import { applyLiveMessage } from "./applyLiveMessage";
import { LiveConnection, type LiveStatus } from "./LiveConnection";

/** "unavailable": operators have no tenant, and the live feed is per tenant. */
export type LiveIndicatorState = LiveStatus | "unavailable";

const LiveStatusContext = createContext<LiveIndicatorState>("unavailable");

export function wsUrlFor(configured: string, location: Location = window.location): string {
  if (/^wss?:\/\//.test(configured)) return configured;
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${configured}`;
}

export function LiveProvider({ wsUrl, children }: { wsUrl: string; children: ReactNode }) {
  const { access, accessToken, state } = useSession();
  const queryClient = useQueryClient();
  const [status, setStatus] = useState<LiveIndicatorState>("unavailable");
  const wanted = state === "signed-in" && access.isTenantUser;

  useEffect(() => {
    if (!wanted) {
      setStatus("unavailable");
      return;
    }
    const connection = new LiveConnection({
      url: wsUrlFor(wsUrl),
      token: accessToken,
      onMessage: (message) => applyLiveMessage(queryClient, message),
      onStatus: setStatus,
    });
    connection.start();
    return () => connection.stop();
  }, [wanted, wsUrl, accessToken, queryClient]);

  return <LiveStatusContext.Provider value={status}>{children}</LiveStatusContext.Provider>;
}

export function useLiveStatus(): LiveIndicatorState {
  return useContext(LiveStatusContext);
}
