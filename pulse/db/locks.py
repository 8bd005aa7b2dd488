"""Every PostgreSQL advisory-lock key Pulse takes, named in one place.

PostgreSQL has two advisory-lock key spaces that never conflict with each other: one bigint
(`pg_advisory_lock(bigint)`) and a pair of int4 (`pg_advisory_lock(int, int)`). Pulse uses the pair
form as (class, object): a name ending in `_CLASS` is the first key of a family of locks, the second
key names the thing locked (a constant, or `hashtext(...)` of a tenant id). A name holding a pair is one
fixed lock of such a family; any other integer is a bigint key.

The values are the ones every release has used. A process of the previous release and one of this
release exclude each other during a rolling upgrade only if they agree on them: never renumber a key,
add a new one. `tests/unit/db/test_locks.py` checks that no two keys collide, and
`tests/integration/db/test_lock_keys_in_sql.py` that the keys SQL functions take are the ones listed in
`SQL_FUNCTION_KEYS`.
"""

from __future__ import annotations

# --- bigint keys ------------------------------------------------------------------------------------

# pulse.db.migrate holds it (session lock) while it applies migrations and function files, so two
# processes starting at once do not both migrate; the second waits, then finds nothing to do.
MIGRATIONS = 0x50554C5345  # "PULSE"

# Used by SQL: pulse_maintain_partitions() takes it per transaction, so two ops processes ticking
# together do not create or drop the same partitions; the second waits, then finds nothing to do.
PARTITION_MAINTENANCE = 5075736501

# pulse.ops.rollups try-locks it per pass, so two ops processes never roll up the same telemetry rows;
# the one that does not get it skips the pass.
ROLLUPS = 5075736502

# pulse.identity.keys takes it per transaction while creating the first signing key or rotating keys,
# so two processes never both make a key current.
SIGNING_KEYS = 5075736520

# --- (class, object) pairs --------------------------------------------------------------------------

# pulse.evaluator.service: (EVALUATOR_CLASS, hashtext(tenant_id)) serialises the work on one tenant's
# rule alerts across evaluator copies. The two fixed pairs below share the class: a tenant whose
# hashtext is 0 or 1 would only make a sweep wait or skip once, never corrupt anything.
EVALUATOR_CLASS = 0x5E7A1
# try-locked per health sweep: one evaluator copy sweeps, the others skip.
EVALUATOR_SWEEP = (EVALUATOR_CLASS, 0)
# try-locked per NO_HEARTBEAT reconciliation: one evaluator copy reconciles, the others skip.
EVALUATOR_RECONCILE = (EVALUATOR_CLASS, 1)

# pulse.notify.dispatch takes it per dispatch pass: dispatchers in several notify processes turn alert
# events into delivery jobs one after the other, so the shared cursor moves in order.
NOTIFY_DISPATCH_CLASS = 0x4E071F
NOTIFY_DISPATCH = (NOTIFY_DISPATCH_CLASS, 0)

# The customer API's test sends (pulse/api/routes/customer/notify_targets.py):
# (NOTIFY_TEST_SEND_CLASS, hashtext(tenant_id || ':' || action)) serialises concurrent test sends of one
# target, so two requests cannot both see room left in the per-minute limit.
NOTIFY_TEST_SEND_CLASS = 0x7E57

# The customer API's broker accounts (pulse/api/queries/broker_accounts.py):
# (BROKER_ACCOUNTS_CLASS, hashtext(tenant_id)) serialises creating a tenant's alert readers, so two
# requests cannot both pass the per-tenant count.
BROKER_ACCOUNTS_CLASS = 0xB20C

# The customer API's escalation policies (pulse/api/queries/escalation_policies.py):
# (ESCALATION_POLICIES_CLASS, hashtext(tenant_id)) serialises writing a tenant's policies, so two
# requests cannot both make a policy the default (the one-default constraint is checked at commit, where
# a loser would be a 500) nor both pass the per-tenant count.
ESCALATION_POLICIES_CLASS = 0xE5CA

# --- keys taken inside SQL functions ------------------------------------------------------------------

# key → the SQL function that takes it. The functions are defined in migrations and function files, not
# here; a test reads the current definitions from a migrated database so this list and the SQL agree.
SQL_FUNCTION_KEYS = {PARTITION_MAINTENANCE: "pulse_maintain_partitions"}
