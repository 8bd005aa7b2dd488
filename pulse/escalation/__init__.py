"""Escalation policies running on open alerts: snapshot, worker, people."""
