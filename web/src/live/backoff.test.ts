import { BACKOFF_CAP_MS, reconnectDelay } from "./backoff";

describe("reconnect backoff", () => {
  it("grows exponentially up to the cap", () => {
    const top = () => 1;
    expect(reconnectDelay(0, top)).toBe(500);
    expect(reconnectDelay(3, top)).toBe(4000);
    expect(reconnectDelay(20, top)).toBe(BACKOFF_CAP_MS);
  });

  it("jitters below the ceiling but never to zero", () => {
    expect(reconnectDelay(5, () => 0)).toBe(250);
    expect(reconnectDelay(5, () => 0.5)).toBe(8000);
  });
});
