"""The notification engine: alert events → delivery jobs → channel sends, durably.

- `dispatch`: reads `alert_events` through a durable cursor and creates one `delivery_jobs` row per
  (event, matching integration route), keyed by an idempotency hash, before any attempt;
- `worker`: claims due jobs with FOR UPDATE SKIP LOCKED, sends through a channel, records every
  attempt, retries with backoff and full jitter, ends in FAILED (the dead letter), reclaims stuck jobs;
- `channels`: one small module per channel kind behind one contract (`channels/base.py`);
- `ssrf`: outbound address checks, at save time and again at send time after DNS resolution;
- `service`: the `notify` service wiring them to LISTEN/NOTIFY and a fallback timer.
"""
