-- The migration runner records the function files (pulse/db/functions/*.sql) it applied in
-- `schema_functions`, created by the runner itself before any migration runs, like
-- `schema_migrations`: operators may read both.
GRANT SELECT ON schema_functions TO pulse_operator;
