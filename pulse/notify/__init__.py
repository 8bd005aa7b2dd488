"""The notification engine: alert events → delivery jobs → channel sends, durably.

- `events`: the typed alert event a channel renders (OPEN, ACKNOWLEDGED, ESCALATED, CLOSED);
- `dispatch`: reads `alert_events` through a durable cursor and creates one `delivery_jobs` row per
  (event, matching integration route) and per (event, notification channel with a matching routing
  rule), keyed by an idempotency hash, before any attempt;
- `worker`: claims due jobs with FOR UPDATE SKIP LOCKED, paces provider rate limits, sends through a
  channel, records every attempt, retries with backoff and full jitter, ends in FAILED (the dead
  letter, re-drivable), reclaims stuck jobs;
- `channels`: one small module per channel kind behind one contract (`channels/base.py`);
- `templates`: the sandboxed Jinja2 environment of tenant-written templates;
- `configs`: channel configs as the APIs store and show them (validated, checked, secrets masked);
- `ssrf`: outbound address checks, at save time and again at send time after DNS resolution;
- `service`: the `notify` service wiring them to LISTEN/NOTIFY and a fallback timer.
"""
