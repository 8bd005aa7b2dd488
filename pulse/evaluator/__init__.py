"""Alert evaluation: device health (status.py), rules (rules.py, decide.py), telemetry-driven evaluation
(arrivals.py), time-indexed sweeps (sweeps.py) and the service that runs them (service.py). Alerts are
opened and closed through the shared lifecycle (`pulse/alerts/lifecycle.py`)."""
