-- Observability: the audit trail of every API write, and indexes for the counts the metrics read.

-- Dead letters counted on their own (`pulse_notify_jobs{state="FAILED"}`, /operator/system/*): without
-- this the count walks every finished job of the retention period.
CREATE INDEX IF NOT EXISTS delivery_jobs_failed_idx ON delivery_jobs (updated_at) WHERE status = 'FAILED';

-- Audit rows are read newest first per tenant with a filter on who or what (`/customer/audit-log`).
CREATE INDEX IF NOT EXISTS audit_log_actor_time_idx ON audit_log (actor_id, timestamp DESC);
CREATE INDEX IF NOT EXISTS audit_log_action_time_idx ON audit_log (action, timestamp DESC);
