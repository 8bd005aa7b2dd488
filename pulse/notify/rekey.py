"""Re-encrypt every stored channel and integration secret with the first PULSE_SECRETS_KEY key
(`pulse admin rotate-secrets-key`): sealed secrets are re-encrypted, plaintext ones (stored before
encryption, or without a key) encrypted. Afterwards the keys after the first can be dropped.

Rows are rewritten one table at a time, each row locked, so a concurrent update is not lost; a kind no
channel handles any more is left as it is (its secret fields are unknown)."""

from __future__ import annotations

import asyncpg

from pulse import crypto
from pulse.db.tx import operator_tx
from pulse.notify import configs
from pulse.notify.channels import CHANNELS
from pulse.notify.targets import TARGET_TABLES

_ACTOR = "cli:rotate-secrets-key"


async def reseal_targets(pool: asyncpg.Pool, keyring: crypto.Keyring) -> int:
    """Rewrite every target's config with its secrets sealed by the first key; how many rows changed.
    Raises crypto.SecretsKeyError (and changes nothing in that table) when a secret does not decrypt."""
    changed = 0
    for t in TARGET_TABLES:
        async with operator_tx(pool, _ACTOR) as conn:
            rows = await conn.fetch(
                f"SELECT tenant_id, {t.id} AS id, {t.kind} AS kind, {t.config} AS config FROM {t.table} FOR UPDATE"
            )
            for row in rows:
                if row["kind"] not in CHANNELS or not isinstance(row["config"], dict):
                    continue
                sealed = configs.reseal(row["kind"], row["config"], keyring)
                if sealed != row["config"]:
                    await conn.execute(
                        f"UPDATE {t.table} SET {t.config} = $3 WHERE tenant_id = $1 AND {t.id} = $2",
                        row["tenant_id"],
                        row["id"],
                        sealed,
                    )
                    changed += 1
    return changed
