import { LiveConnection, type LiveMessage, type LiveStatus } from "./LiveConnection";

class FakeSocket {
  sent: string[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: string }) => void) | null = null;
  onclose: ((event: { code: number }) => void) | null = null;
  closed = false;
  constructor(readonly url: string) {}
  send(data: string) {
    this.sent.push(data);
  }
  close() {
    this.closed = true;
  }
  open() {
    this.onopen?.();
  }
  receive(message: object) {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
  drop(code: number) {
    this.onclose?.({ code });
  }
}

function harness(tokens: string[]) {
  const sockets: FakeSocket[] = [];
  const statuses: LiveStatus[] = [];
  const messages: LiveMessage[] = [];
  const timers: { fn: () => void; ms: number }[] = [];
  let next = 0;
  const connection = new LiveConnection({
    url: "ws://pulse/api/v2/ws",
    token: async () => tokens[Math.min(next++, tokens.length - 1)] ?? null,
    onMessage: (m) => messages.push(m),
    onStatus: (s) => statuses.push(s),
    createSocket: (url) => {
      const socket = new FakeSocket(url);
      sockets.push(socket);
      return socket as unknown as WebSocket;
    },
    random: () => 1,
    setTimer: (fn, ms) => timers.push({ fn, ms }),
    clearTimer: () => undefined,
  });
  return { connection, sockets, statuses, messages, timers };
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("the live connection", () => {
  it("authenticates with its first message and passes data messages on", async () => {
    const h = harness(["token-1"]);
    h.connection.start();
    await flush();
    h.sockets[0]!.open();
    expect(JSON.parse(h.sockets[0]!.sent[0]!)).toEqual({ action: "auth", token: "token-1" });
    h.sockets[0]!.receive({ type: "hello", tenant_id: "demo" });
    h.sockets[0]!.receive({ type: "ping" });
    h.sockets[0]!.receive({ type: "alerts", alerts: [] });
    expect(h.statuses).toEqual(["connecting", "live"]);
    expect(h.messages.map((m) => m.type)).toEqual(["alerts"]);
  });

  it("reconnects with backoff and a fresh token after the server closes (token expired)", async () => {
    const h = harness(["old", "fresh"]);
    h.connection.start();
    await flush();
    h.sockets[0]!.open();
    h.sockets[0]!.drop(4001);
    expect(h.statuses.at(-1)).toBe("reconnecting");
    expect(h.timers[0]!.ms).toBe(500);
    h.timers[0]!.fn();
    await flush();
    h.sockets[1]!.open();
    expect(JSON.parse(h.sockets[1]!.sent[0]!).token).toBe("fresh");
    h.sockets[1]!.drop(1006);
    expect(h.timers[1]!.ms).toBe(1000); // no hello in between: the delay keeps growing
  });

  it("stops retrying when the server refuses the account (4003)", async () => {
    const h = harness(["token"]);
    h.connection.start();
    await flush();
    h.sockets[0]!.drop(4003);
    expect(h.statuses.at(-1)).toBe("forbidden");
    expect(h.timers).toHaveLength(0);
  });

  it("closes the socket and does not reconnect once stopped", async () => {
    const h = harness(["token"]);
    h.connection.start();
    await flush();
    h.connection.stop();
    h.sockets[0]!.drop(1000);
    expect(h.sockets[0]!.closed).toBe(true);
    expect(h.timers).toHaveLength(0);
  });
});
