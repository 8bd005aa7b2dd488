/** The console's runtime configuration, served by the API at /app/config.json so one build works
 * against the built-in issuer or Keycloak without a code change. */
export interface RuntimeConfig {
  issuer: string;
  client_id: string;
  scopes: string;
  api_base: string;
  ws_url: string;
}

export class ConfigError extends Error {}

export function parseRuntimeConfig(raw: unknown): RuntimeConfig {
  if (typeof raw !== "object" || raw === null) throw new ConfigError("config.json is not an object");
  const value = raw as Record<string, unknown>;
  const fields = ["issuer", "client_id", "scopes", "api_base", "ws_url"] as const;
  for (const field of fields) {
    if (typeof value[field] !== "string") throw new ConfigError(`config.json lacks "${field}"`);
  }
  return {
    issuer: value.issuer as string,
    client_id: value.client_id as string,
    scopes: value.scopes as string,
    api_base: (value.api_base as string).replace(/\/$/, ""),
    ws_url: value.ws_url as string,
  };
}

export async function loadRuntimeConfig(): Promise<RuntimeConfig> {
  const response = await fetch(`${import.meta.env.BASE_URL}config.json`, { cache: "no-store" });
  if (!response.ok) throw new ConfigError(`config.json answered HTTP ${response.status}`);
  return parseRuntimeConfig(await response.json());
}
