"""The alert lifecycle every service shares: opening and closing alerts by fingerprint, and the
escalation fence. The evaluator, ops (SYSTEM_HEALTH) and the API write alerts through it; escalation
will too. Events (`alert_events`) and their NOTIFY come from the triggers on `alerts`."""
