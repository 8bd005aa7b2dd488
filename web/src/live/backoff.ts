/** Reconnect delays: exponential from 0.5 s to 30 s with full jitter, so a restarted API is not hit by
 * every console at the same instant. */
export const BACKOFF_BASE_MS = 500;
export const BACKOFF_CAP_MS = 30_000;

export function reconnectDelay(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempt));
  return Math.max(BACKOFF_BASE_MS / 2, Math.round(random() * ceiling));
}
