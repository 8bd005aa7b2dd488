import type { ReactNode } from "react";
import { Navigate } from "react-router-dom";
import type { Access } from "../auth/roles";
import { useSession } from "../auth/AuthProvider";
import { Forbidden } from "../components/States";
import { homePathFor } from "./navigation";

/** A route only some roles may open: others see the forbidden state, not a broken page. */
export function RequireAccess({
  allowed,
  what,
  children,
}: {
  allowed: (access: Access) => boolean;
  what: string;
  children: ReactNode;
}) {
  const { access } = useSession();
  return allowed(access) ? <>{children}</> : <Forbidden what={what} />;
}

export function HomeRedirect() {
  const { access } = useSession();
  const home = homePathFor(access);
  if (!home) return <Forbidden what="any page of the console (no known role in your token)" />;
  return <Navigate to={home} replace />;
}
