"""Alert evaluation: device health (status.py), rules (rules.py, decide.py), the alert lifecycle
(lifecycle.py), telemetry-driven evaluation (arrivals.py), time-indexed sweeps (sweeps.py) and the
service that runs them (service.py)."""
