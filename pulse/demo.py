"""The demo tenant `pulse up` creates on first start: a tenant with a MAIN subscription, two sites, one
user per role plus an engineer, an on-call schedule rotating the engineer and the viewer weekly, and a
default escalation policy (the person on call at once, the tenant admin 5 minutes later, repeated once)
so an unacknowledged alert reaches people from the first minute. Passwords are random, printed once and kept in the data dir (mode 0600), stored in the
database only as argon2id hashes."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from argon2 import PasswordHasher

from pulse.db.tx import operator_tx

DEMO_TENANT = "demo"
DEMO_SITES = (("demo-plant-a", "Plant A"), ("demo-plant-b", "Plant B"))
DEMO_DEVICE_LIMIT = 10_000  # room for `pulse up --sim-devices` up to its maximum
# username, roles, tenant (None for operators, who see every tenant)
DEMO_USERS = (
    ("demo-admin", ["tenant-admin"], DEMO_TENANT),
    ("demo-viewer", ["customer"], DEMO_TENANT),
    ("demo-engineer", ["customer"], DEMO_TENANT),
    ("operator", ["operator-admin"], None),
)


@dataclass(frozen=True)
class DemoCredential:
    username: str
    password: str
    roles: list[str]
    tenant_id: str | None


def credentials_file(data_dir: Path) -> Path:
    return data_dir / "demo-credentials.txt"


async def seed_demo(pool: asyncpg.Pool, data_dir: Path) -> list[DemoCredential]:
    """Create the demo tenant and users unless the tenant exists; return the new credentials (or [])."""
    hasher = PasswordHasher()  # argon2id with the library's recommended parameters
    created: list[DemoCredential] = []
    async with operator_tx(pool, "system:demo-seed") as conn:
        inserted = await conn.fetchval(
            """INSERT INTO tenants (tenant_id, name, contact_email, metadata)
               VALUES ($1, 'Demo Industries', 'ops@example.com', '{"demo": true}'::jsonb)
               ON CONFLICT (tenant_id) DO NOTHING RETURNING tenant_id""",
            DEMO_TENANT,
        )
        if inserted is None:
            return []
        await conn.execute(
            """INSERT INTO subscriptions (subscription_id, tenant_id, subscription_type, device_limit,
                                          term_start, term_end, status, description, created_by)
               VALUES (generate_subscription_id(), $1, 'MAIN', $2, now(), now() + interval '365 days',
                       'ACTIVE', 'Demo subscription', 'system:demo-seed')""",
            DEMO_TENANT,
            DEMO_DEVICE_LIMIT,
        )
        await conn.executemany(
            "INSERT INTO sites (tenant_id, site_id, name) VALUES ($1, $2, $3)",
            [(DEMO_TENANT, site_id, name) for site_id, name in DEMO_SITES],
        )
        for username, roles, tenant_id in DEMO_USERS:
            password = secrets.token_urlsafe(12)
            await conn.execute(
                """INSERT INTO users (tenant_id, username, email, display_name, password_hash, roles)
                   VALUES ($1, $2, $3, $4, $5, $6)
                   ON CONFLICT DO NOTHING""",
                tenant_id,
                username,
                f"{username}@example.com",
                username.replace("-", " ").title(),
                hasher.hash(password),
                roles,
            )
            created.append(DemoCredential(username, password, roles, tenant_id))
        await _seed_on_call(conn)
    path = credentials_file(data_dir)
    path.touch(mode=0o600, exist_ok=True)
    path.write_text(
        "".join(f"{c.username}\t{c.password}\t{','.join(c.roles)}\t{c.tenant_id or '*'}\n" for c in created)
    )
    return created


async def _seed_on_call(conn: asyncpg.Connection) -> None:
    people = {
        r["username"]: r["user_id"]
        for r in await conn.fetch("SELECT username, user_id FROM users WHERE tenant_id = $1", DEMO_TENANT)
    }
    schedule_id = await conn.fetchval(
        """INSERT INTO oncall_schedules (tenant_id, name, description, timezone)
           VALUES ($1, 'Plant on-call', 'Weekly rotation, handoff Monday 09:00 plant time', 'Europe/London')
           RETURNING schedule_id""",
        DEMO_TENANT,
    )
    await conn.execute(
        """INSERT INTO oncall_layers (tenant_id, schedule_id, name, position, rotation, handoff_time,
                                      handoff_weekday, start_date, participants)
           VALUES ($1, $2, 'Primary', 1, 'weekly', '09:00', 0, current_date - 14, $3)""",
        DEMO_TENANT,
        schedule_id,
        [people["demo-engineer"], people["demo-viewer"]],
    )
    policy_id = await conn.fetchval(
        """INSERT INTO escalation_policies (tenant_id, name, description, is_default, repeat_count)
           VALUES ($1, 'Default', 'On call at once, then the tenant admin', true, 1) RETURNING policy_id""",
        DEMO_TENANT,
    )
    await conn.executemany(
        """INSERT INTO escalation_levels (tenant_id, policy_id, level_number, delay_minutes, targets)
           VALUES ($1, $2, $3, $4, $5)""",
        [
            (DEMO_TENANT, policy_id, 1, 0, [{"type": "schedule", "id": schedule_id}]),
            (DEMO_TENANT, policy_id, 2, 5, [{"type": "user", "id": str(people["demo-admin"])}]),
        ],
    )
