"""`contact_routes`: how the escalation worker reaches the people a level names, read from a real
database in a tenant transaction and an operator one."""

from __future__ import annotations

import uuid

from pulse.db.tx import operator_tx, tenant_tx
from pulse.escalation.people import Person, Route, contact_routes
from tests.factories import make_channel, make_tenant
from tests.integration.api.helpers import make_user


async def _method(pool, tenant: str, user_id: str, *, email=None, channel_id=None, enabled=True) -> int:
    async with operator_tx(pool, "test") as conn:
        return await conn.fetchval(
            """INSERT INTO user_contact_methods (tenant_id, user_id, kind, email, channel_id, enabled)
               VALUES ($1, $2, $3, $4, $5, $6) RETURNING method_id""",
            tenant,
            uuid.UUID(user_id),
            "email" if email else "channel",
            email,
            channel_id,
            enabled,
        )


async def test_routes_per_person(pool) -> None:
    tenant, other = await make_tenant(pool, "acme"), await make_tenant(pool, "globex")
    channel = await make_channel(pool, tenant, {"url": "https://192.0.2.1/h"})
    ann, _ = await make_user(pool, "ann", ["customer"], tenant)
    bob, _ = await make_user(pool, "bob", ["customer"], tenant)
    cid, _ = await make_user(pool, "cid", ["customer"], tenant)
    gone, _ = await make_user(pool, "gone", ["customer"], tenant)
    stranger, _ = await make_user(pool, "stranger", ["customer"], other)
    by_channel = await _method(pool, tenant, ann.user_id, channel_id=channel)
    await _method(pool, tenant, ann.user_id, email="off@example.com", enabled=False)
    by_mail = await _method(pool, tenant, ann.user_id, email="ann@pager.example.com")
    await _method(pool, tenant, bob.user_id, email="bob-off@example.com", enabled=False)
    async with operator_tx(pool, "test") as conn:
        await conn.execute("UPDATE users SET email = NULL WHERE user_id = $1", uuid.UUID(cid.user_id))
        await conn.execute("UPDATE users SET status = 'DISABLED' WHERE user_id = $1", uuid.UUID(gone.user_id))
        service = await conn.fetchval(
            """INSERT INTO users (tenant_id, username, password_hash, roles, kind, email)
               VALUES ($1, 'svc', 'x', '{customer}', 'service', 'svc@example.com') RETURNING user_id""",
            tenant,
        )
    asked = [uuid.UUID(u.user_id) for u in (ann, bob, cid, gone, stranger)] + [service, uuid.uuid4()]

    async with tenant_tx(pool, tenant) as conn:
        people = await contact_routes(conn, tenant, asked)
    assert set(people) == {uuid.UUID(ann.user_id), uuid.UUID(bob.user_id), uuid.UUID(cid.user_id)}
    assert people[uuid.UUID(ann.user_id)] == Person(
        uuid.UUID(ann.user_id),
        "ann",
        None,
        (Route("channel", None, channel, by_channel), Route("email", "ann@pager.example.com", None, by_mail)),
    )
    # no enabled method: the account's address; no address either: no route, still a person
    assert people[uuid.UUID(bob.user_id)].routes == (Route("email", "bob@example.com", None, None),)
    assert people[uuid.UUID(cid.user_id)].routes == ()

    # an operator transaction (the worker's) gives the same answer; another tenant's view has nobody
    async with operator_tx(pool, "test") as conn:
        assert await contact_routes(conn, tenant, asked) == people
        assert await contact_routes(conn, other, [uuid.UUID(ann.user_id)]) == {}
        assert await contact_routes(conn, tenant, []) == {}
