import { UserManager, WebStorageStateStore } from "oidc-client-ts";
import type { RuntimeConfig } from "../config";

/** Authorization code + PKCE against the configured issuer. Silent renewal uses the refresh token
 * (oidc-client-ts does a refresh_token grant when the user has one), so no hidden iframe is needed. */
export function createUserManager(config: RuntimeConfig, origin = window.location.origin): UserManager {
  const base = `${origin}${import.meta.env.BASE_URL}`;
  return new UserManager({
    authority: config.issuer,
    client_id: config.client_id,
    redirect_uri: `${base}callback`,
    post_logout_redirect_uri: `${origin}/`,
    response_type: "code",
    scope: config.scopes,
    automaticSilentRenew: true,
    userStore: new WebStorageStateStore({ store: window.sessionStorage }),
  });
}
