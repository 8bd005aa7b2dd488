"""What each ingest client id has subscribed to, remembered in `ingest_subscriptions` (migration 080).

MQTT has no way to list a persistent session's subscriptions, so ingest records its filters before it
subscribes; on the next start the recorded filters that are no longer configured (another
`PULSE_INGEST_SHARED_GROUP`, another topic) are unsubscribed, and only once the broker confirmed that
is the record narrowed to the configured filter. A crash in between leaves the old filter recorded, so
the next start unsubscribes it again: nothing is ever forgotten while it may still be in the session.
"""

from __future__ import annotations

import asyncio
import threading

from pulse.backoff import Backoff
from pulse.db.tx import operator_tx
from pulse.log import get_logger
from pulse.periodic import OUTAGE_ERRORS

log = get_logger("pulse.ingest")


async def previous_filters(pool, client_id: str, configured: str) -> set[str]:
    """The recorded filters, with `configured` added to the record; waits while the database starts."""
    backoff = Backoff(0.2, 5.0)
    while True:
        try:
            async with operator_tx(pool, "service:ingest") as conn:
                filters = await conn.fetchval(
                    """INSERT INTO ingest_subscriptions AS s (client_id, filters) VALUES ($1, ARRAY[$2])
                       ON CONFLICT (client_id) DO UPDATE SET updated_at = now(), filters =
                           CASE WHEN $2 = ANY(s.filters) THEN s.filters ELSE s.filters || $2 END
                       RETURNING filters""",
                    client_id,
                    configured,
                )
            return set(filters)
        except OUTAGE_ERRORS as exc:
            log.warning("waiting for the database", error=str(exc))
        await backoff.sleep()


async def forget_when_removed(pool, client_id: str, configured: str, removed: threading.Event) -> None:
    """Once the broker confirmed the unsubscribe, record only the configured filter."""
    while not await asyncio.to_thread(removed.wait, 0.5):  # paho's thread sets it
        pass
    backoff = Backoff(0.2, 5.0)
    while True:
        try:
            async with operator_tx(pool, "service:ingest") as conn:
                await conn.execute(
                    "UPDATE ingest_subscriptions SET filters = ARRAY[$2], updated_at = now() "
                    "WHERE client_id = $1",
                    client_id,
                    configured,
                )
            return
        except OUTAGE_ERRORS as exc:
            log.warning("could not record ingest's subscriptions; retrying", error=str(exc))
        await backoff.sleep()
