import { reconnectDelay } from "./backoff";

/** The one WebSocket to /api/v2/ws: authenticates with its first message, hands every data message
 * on, and reconnects with backoff (a fresh token each time, since the server closes with 4001 when
 * the token expires). */
export type LiveStatus = "connecting" | "live" | "reconnecting" | "forbidden" | "stopped";

export interface LiveMessage {
  type: string;
  [key: string]: unknown;
}

export interface LiveConnectionOptions {
  url: string;
  token: () => Promise<string | null>;
  onMessage: (message: LiveMessage) => void;
  onStatus: (status: LiveStatus) => void;
  createSocket?: (url: string) => WebSocket;
  random?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

const CLOSE_FORBIDDEN = 4003;

export class LiveConnection {
  private socket: WebSocket | null = null;
  private attempt = 0;
  private timer: unknown = null;
  private stopped = false;

  constructor(private readonly options: LiveConnectionOptions) {}

  start(): void {
    this.stopped = false;
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) (this.options.clearTimer ?? clearTimeout)(this.timer as number);
    this.timer = null;
    this.socket?.close(1000, "console closed");
    this.socket = null;
    this.options.onStatus("stopped");
  }

  private async connect(): Promise<void> {
    this.options.onStatus(this.attempt === 0 ? "connecting" : "reconnecting");
    const token = await this.options.token();
    if (this.stopped) return;
    if (!token) {
      this.scheduleReconnect();
      return;
    }
    const socket = (this.options.createSocket ?? ((url) => new WebSocket(url)))(this.options.url);
    this.socket = socket;
    socket.onopen = () => socket.send(JSON.stringify({ action: "auth", token }));
    socket.onmessage = (event: MessageEvent) => this.receive(event.data);
    socket.onclose = (event: CloseEvent) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (this.stopped) return;
      if (event.code === CLOSE_FORBIDDEN) {
        this.options.onStatus("forbidden");
        return;
      }
      this.scheduleReconnect();
    };
  }

  private receive(data: unknown): void {
    let message: unknown;
    try {
      message = JSON.parse(String(data));
    } catch {
      return;
    }
    if (typeof message !== "object" || message === null || typeof (message as LiveMessage).type !== "string") {
      return;
    }
    const typed = message as LiveMessage;
    if (typed.type === "hello") {
      this.attempt = 0;
      this.options.onStatus("live");
      return;
    }
    if (typed.type === "ping") return;
    this.options.onMessage(typed);
  }

  private scheduleReconnect(): void {
    this.options.onStatus("reconnecting");
    const delay = reconnectDelay(this.attempt, this.options.random);
    this.attempt += 1;
    this.timer = (this.options.setTimer ?? setTimeout)(() => {
      this.timer = null;
      if (!this.stopped) void this.connect();
    }, delay);
  }
}
