import { apiErrorFrom, ApiError } from "./errors";

export interface ApiClientOptions {
  baseUrl: string;
  accessToken: () => Promise<string | null>;
  /** Called when the API refuses the token after one renewal: the session is over. */
  onSessionExpired: () => void;
  /** Forces a renewal (refresh token) after a 401 on a token that looked valid. */
  renew: () => Promise<string | null>;
  fetchImpl?: typeof fetch;
}

export type ApiClient = <T>(path: string, init?: { method?: string; body?: unknown }) => Promise<T>;

export function createApiClient(options: ApiClientOptions): ApiClient {
  const doFetch = options.fetchImpl ?? ((input, init) => fetch(input, init));
  return async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
    const send = (token: string) =>
      doFetch(`${options.baseUrl}${path}`, {
        method: init.method ?? "GET",
        headers: {
          Authorization: `Bearer ${token}`,
          Accept: "application/json",
          ...(init.body === undefined ? {} : { "Content-Type": "application/json" }),
        },
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
      });
    const token = await options.accessToken();
    if (!token) throw new ApiError(401, "session_expired", "Your session has ended; sign in again.");
    let response = await send(token);
    if (response.status === 401) {
      const renewed = await options.renew();
      if (renewed) response = await send(renewed);
      if (response.status === 401 || !renewed) {
        options.onSessionExpired();
        throw await apiErrorFrom(response);
      }
    }
    if (!response.ok) throw await apiErrorFrom(response);
    if (response.status === 204) return undefined as T;
    return (await response.json()) as T;
  };
}
