-- Broker credentials (issue 11): the broker's per-device accounts are rebuilt from these columns on
-- start. Only a salted PBKDF2-SHA512 hash is kept, in the form Mosquitto's dynamic-security plugin
-- stores ("pbkdf2-sha512$<iterations>$<salt b64>$<hash b64>"); the password itself is shown once.
ALTER TABLE device_registry ADD COLUMN broker_password_hash text;
ALTER TABLE device_api_tokens ADD COLUMN broker_password_hash text;
