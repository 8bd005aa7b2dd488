import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import type { User, UserManager } from "oidc-client-ts";
import { accessFromClaims, decodeJwtPayload, type Access } from "./roles";

export type SessionState = "loading" | "signed-in" | "signed-out" | "expired";

export interface Session {
  state: SessionState;
  user: User | null;
  access: Access;
  signIn: (returnTo?: string) => Promise<void>;
  signOut: () => Promise<void>;
  /** A valid access token, renewed with the refresh token when needed; null when the session is over. */
  accessToken: () => Promise<string | null>;
  /** The API refused the token even after a renewal: ask the user to sign in again. */
  markExpired: () => void;
  userManager: UserManager;
}

const SessionContext = createContext<Session | null>(null);

export function accessOf(user: User | null): Access {
  if (!user) return accessFromClaims();
  return accessFromClaims(decodeJwtPayload(user.access_token), user.profile as Record<string, unknown>);
}

export function currentPath(): string {
  const base = import.meta.env.BASE_URL.replace(/\/$/, "");
  const path = window.location.pathname.startsWith(base)
    ? window.location.pathname.slice(base.length)
    : window.location.pathname;
  return (path || "/") + window.location.search;
}

export function AuthProvider({ userManager, children }: { userManager: UserManager; children: ReactNode }) {
  const [user, setUser] = useState<User | null>(null);
  const [state, setState] = useState<SessionState>("loading");

  useEffect(() => {
    let cancelled = false;
    void userManager.getUser().then((stored) => {
      if (cancelled) return;
      if (stored && !stored.expired) {
        setUser(stored);
        setState("signed-in");
      } else if (stored?.refresh_token) {
        userManager.signinSilent().then(
          (renewed) => {
            setUser(renewed);
            setState(renewed ? "signed-in" : "expired");
          },
          () => setState("expired"),
        );
      } else {
        setState(stored ? "expired" : "signed-out");
      }
    });
    const loaded = (next: User) => {
      setUser(next);
      setState("signed-in");
    };
    const renewFailed = () => setState("expired");
    const unloaded = () => {
      setUser(null);
      setState("signed-out");
    };
    userManager.events.addUserLoaded(loaded);
    userManager.events.addSilentRenewError(renewFailed);
    userManager.events.addUserUnloaded(unloaded);
    return () => {
      cancelled = true;
      userManager.events.removeUserLoaded(loaded);
      userManager.events.removeSilentRenewError(renewFailed);
      userManager.events.removeUserUnloaded(unloaded);
    };
  }, [userManager]);

  const signIn = useCallback(
    (returnTo?: string) => userManager.signinRedirect({ state: { returnTo: returnTo ?? currentPath() } }),
    [userManager],
  );

  const signOut = useCallback(async () => {
    const current = await userManager.getUser();
    if (current?.refresh_token) {
      await userManager.revokeTokens(["refresh_token"]).catch(() => undefined);
    }
    await userManager.signoutRedirect({ id_token_hint: current?.id_token });
  }, [userManager]);

  const accessToken = useCallback(async () => {
    const current = await userManager.getUser();
    if (current && !current.expired) return current.access_token;
    if (!current?.refresh_token) {
      setState(current ? "expired" : "signed-out");
      return null;
    }
    try {
      const renewed = await userManager.signinSilent();
      return renewed?.access_token ?? null;
    } catch {
      setState("expired");
      return null;
    }
  }, [userManager]);

  const markExpired = useCallback(() => setState("expired"), []);

  const session = useMemo<Session>(
    () => ({ state, user, access: accessOf(user), signIn, signOut, accessToken, markExpired, userManager }),
    [state, user, signIn, signOut, accessToken, markExpired, userManager],
  );
  return <SessionContext.Provider value={session}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside AuthProvider");
  return session;
}
