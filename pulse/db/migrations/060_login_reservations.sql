-- Login throttle, issue 11 part 3: attempts are reserved atomically before the password is hashed.
-- login_delays: consecutive failures per (user name, client address); past the free allowance each
-- failure doubles the wait (up to a ceiling) instead of locking the account, so nobody can lock out
-- another person from their own address. login_throttle keeps the per-address budget in fixed
-- windows and gains the token endpoint's per-address budget ('token').
CREATE TABLE login_delays (
    username      text NOT NULL,
    ip            text NOT NULL,
    failures      integer NOT NULL DEFAULT 0,
    blocked_until timestamptz,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (username, ip)
);
CREATE INDEX login_delays_updated_idx ON login_delays (updated_at);
SELECT pulse_global_table('login_delays');

ALTER TABLE login_throttle DROP CONSTRAINT IF EXISTS login_throttle_scope_check;
ALTER TABLE login_throttle ADD CONSTRAINT login_throttle_scope_check CHECK (scope IN ('user', 'ip', 'token'));
