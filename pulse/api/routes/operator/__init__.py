"""/operator: every tenant. `operator` reads, `operator-admin` also changes tenants and settings.
Every request writes an `operator_audit_log` row (OperatorDb does it before the handler runs)."""
