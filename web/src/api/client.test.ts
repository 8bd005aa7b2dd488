import { createApiClient } from "./client";
import { ApiError } from "./errors";

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

describe("the API client", () => {
  it("sends the bearer token and returns the body", async () => {
    const seen: RequestInit[] = [];
    const api = createApiClient({
      baseUrl: "",
      accessToken: async () => "t1",
      renew: async () => null,
      onSessionExpired: () => undefined,
      fetchImpl: async (_url, init) => {
        seen.push(init!);
        return json(200, { ok: true });
      },
    });
    expect(await api("/x")).toEqual({ ok: true });
    expect((seen[0]!.headers as Record<string, string>).Authorization).toBe("Bearer t1");
  });

  it("turns the API's error body into an ApiError with its detail", async () => {
    const api = createApiClient({
      baseUrl: "",
      accessToken: async () => "t",
      renew: async () => null,
      onSessionExpired: () => undefined,
      fetchImpl: async () => json(409, { error: "conflict", detail: "alert 3 is CLOSED" }),
    });
    await expect(api("/x", { method: "PATCH" })).rejects.toMatchObject({ status: 409, code: "conflict", detail: "alert 3 is CLOSED" });
  });

  it("renews once on 401 and retries with the new token", async () => {
    const tokens: string[] = [];
    const api = createApiClient({
      baseUrl: "",
      accessToken: async () => "stale",
      renew: async () => "renewed",
      onSessionExpired: () => undefined,
      fetchImpl: async (_url, init) => {
        const auth = (init!.headers as Record<string, string>).Authorization!;
        tokens.push(auth);
        return auth === "Bearer renewed" ? json(200, [1]) : json(401, { error: "unauthorized", detail: "expired" });
      },
    });
    expect(await api("/x")).toEqual([1]);
    expect(tokens).toEqual(["Bearer stale", "Bearer renewed"]);
  });

  it("reports the session expired when renewal fails", async () => {
    let expired = false;
    const api = createApiClient({
      baseUrl: "",
      accessToken: async () => "stale",
      renew: async () => null,
      onSessionExpired: () => {
        expired = true;
      },
      fetchImpl: async () => json(401, { error: "unauthorized", detail: "token expired" }),
    });
    await expect(api("/x")).rejects.toBeInstanceOf(ApiError);
    expect(expired).toBe(true);
  });
});
