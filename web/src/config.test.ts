import { ConfigError, parseRuntimeConfig } from "./config";

describe("runtime config", () => {
  it("accepts the API's config.json", () => {
    const config = parseRuntimeConfig({
      issuer: "http://127.0.0.1:8080",
      client_id: "pulse-ui",
      scopes: "openid",
      api_base: "http://x/",
      ws_url: "/api/v2/ws",
    });
    expect(config.api_base).toBe("http://x");
  });

  it("refuses a config without an issuer", () => {
    expect(() => parseRuntimeConfig({ client_id: "pulse-ui" })).toThrow(ConfigError);
  });
});
