"""Validation of device messages, shared by MQTT and HTTP, in the reference's order (§2.1) except
that rate limits are charged only after authentication.

`Ingestor.submit` takes a chunk of messages, does every check that needs only the message, loads the
credentials of all not-yet-cached devices in one query, finishes the checks and hands each message to
the batch writer — as a telemetry row or as a quarantine row. It never drops a message: even an
over-the-cap rejection is counted.

Only a message whose token matched spends its device's and tenant's budgets (token buckets, the HTTP
per-device window) and its device's quarantine share. Every other rejection ("unauthenticated": it
never proved a token) is stored under a separate cap per device and per tenant, so a tokenless flood on
a victim's topic can neither rate-limit the victim nor fill its quarantine.
"""

from __future__ import annotations

import asyncio
import hmac
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from pulse import metrics
from pulse.backoff import Backoff
from pulse.config import Settings
from pulse.db.tx import operator_tx
from pulse.ingest.auth_cache import MISSING, DeviceAuth, DeviceAuthCache
from pulse.ingest.envelope import TOPIC, TOPIC_SEGMENT, Envelope, EnvelopeError, parse_envelope
from pulse.ingest.limits import IngestLimits, LimitsWatcher
from pulse.ingest.rate_limit import SlidingWindows, TokenBuckets
from pulse.ingest.reasons import Reason
from pulse.ingest.writer import BatchWriter, Done, QuarantineRow, TelemetryRow, is_transient
from pulse.log import get_logger
from pulse.provisioning.tokens import secret_matches

log = get_logger("pulse.ingest")

HTTP_MSG_TYPES = frozenset({"telemetry", "heartbeat"})
_PREVIEW_CHARS = 2048
_TOKEN_IN_TEXT = re.compile(r'("provision_token"\s*:\s*")[^"]*(")')
_REDACTED = "[redacted]"


@dataclass(slots=True)
class Inbound:
    """One message as received. `token` is the HTTP header (it wins over the body's token)."""

    topic: str
    payload: bytes
    received_at: datetime
    done: Done | None = None
    token: str | None = None
    http: bool = False
    size: int | None = None  # the real size when `payload` is only a prefix (an oversized HTTP body)
    seq: int | None = None  # set by the pipeline once the envelope parsed (HTTP echoes it)
    detail: str | None = None  # set by the pipeline on rejection (HTTP returns it)
    # HTTP single endpoint: a per-device window charged only once the message is authenticated.
    device_window: SlidingWindows | None = None
    retry_after: float | None = None  # set with RATE_LIMITED from `device_window`
    authenticated: bool = False  # set by the pipeline: the device's token matched
    retained: bool = False  # MQTT retain flag: the broker re-sends a stored retained message


@dataclass(slots=True)
class _Checked:
    message: Inbound
    tenant_id: str
    device_id: str
    msg_type: str
    envelope: Envelope


class Ingestor:
    def __init__(
        self, settings: Settings, writer: BatchWriter, cache: DeviceAuthCache, limits: LimitsWatcher
    ) -> None:
        self._settings = settings
        self.writer = writer
        self.cache = cache
        self.limits = limits
        self._device_buckets = TokenBuckets()
        self._tenant_buckets = TokenBuckets()
        self._quarantine_minute: datetime | None = None
        # (tenant, device, authenticated) and (tenant, None, False) -> quarantine rows stored this minute
        self._quarantined: Counter[tuple[str, str | None, bool]] = Counter()
        # "accepted" or a Reason value: this pipeline's own counts (the stats line), also in the metrics
        self.counts = metrics.Tally(
            {
                "accepted": metrics.INGEST_ACCEPTED,
                "retained_resent": metrics.INGEST_RETAINED_RESENT,
                **{r.value: metrics.INGEST_REJECTED.labels(reason=r.value) for r in Reason},
            }
        )
        # Last token that matched each device's stored hash: the next message with the same token is
        # checked with one constant-time comparison instead of a SHA-256. Bounded like the auth cache.
        self._verified: dict[tuple[str, str], tuple[str, str]] = {}

    async def submit(self, messages: list[Inbound]) -> None:
        limits = self.limits.current
        now = datetime.now(UTC)
        metrics.INGEST_RECEIVED.inc(len(messages))
        checked: list[_Checked] = []
        for message in messages:
            result = self._check_message(message, limits, now)
            if isinstance(result, _Checked):
                checked.append(result)
        await self._load_credentials({(c.tenant_id, c.device_id) for c in checked})
        passed: list[_Checked] = []
        for c in checked:
            auth = self.cache.lookup((c.tenant_id, c.device_id))
            reason = self._check_credentials(c, auth if auth is not MISSING else None)
            if reason is not None:
                self._reject(c.message, reason, c.tenant_id, c.device_id, c.msg_type, c.envelope)
            else:
                passed.append(c)
        stored = await self._already_stored([c for c in passed if c.message.retained])
        for c in passed:
            if c.message.retained and (c.envelope.ts is None or _row_key(c) in stored):
                self.counts.inc("retained_resent")
                if c.message.done is not None:
                    c.message.done(None)  # nothing to commit: acknowledge at once
                continue
            reason = self._charge(c, limits)
            if reason is not None:
                self._reject(c.message, reason, c.tenant_id, c.device_id, c.msg_type, c.envelope)
                continue
            env = c.envelope
            self.counts.inc("accepted")
            self.writer.add(
                TelemetryRow(
                    time=env.ts or c.message.received_at,
                    tenant_id=c.tenant_id,
                    device_id=c.device_id,
                    site_id=env.site_id or "",
                    msg_type=c.msg_type,
                    seq=env.seq,
                    metrics=env.metrics,
                    received_at=c.message.received_at,
                    topic=c.message.topic,
                    location=env.location,
                ),
                c.message.done,
            )

    async def registered(self, keys: set[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which of these devices are registered (through the cache). For the HTTP per-source limits."""
        await self._load_credentials(keys)
        return {k for k in keys if self.cache.lookup(k) not in (None, MISSING)}

    def _charge(self, c: _Checked, limits: IngestLimits) -> Reason | None:
        """Spend the device's and tenant's budgets — only ever for an authenticated message."""
        if c.message.device_window is not None:
            retry = c.message.device_window.hit((c.tenant_id, c.device_id))
            if retry is not None:
                c.message.retry_after = retry
                return Reason.RATE_LIMITED
        if not self._device_buckets.allow(
            (c.tenant_id, c.device_id), limits.device_rps, limits.device_burst
        ) or not self._tenant_buckets.allow(c.tenant_id, limits.tenant_rps, limits.tenant_burst):
            return Reason.RATE_LIMITED
        return None

    def _check_message(self, message: Inbound, limits: IngestLimits, now: datetime) -> _Checked | None:
        """Checks 1, 2, 4, 5 of §2.1 (plus JSON and envelope rules); rejects and returns None on failure.
        The rate limit (check 3) waits until the message is authenticated (`_charge`)."""
        topic = TOPIC.match(message.topic)
        if (message.size or len(message.payload)) > limits.max_payload_bytes:
            # Attributed to the topic's device when the topic is well formed, so the tenant sees it.
            self._reject(message, Reason.PAYLOAD_TOO_LARGE, *(topic.groups() if topic else ()))
            return None
        if topic is None:
            parts = message.topic.split("/", 2)
            tenant_ok = len(parts) > 1 and parts[0] == "tenant" and TOPIC_SEGMENT.match(parts[1])
            self._reject(message, Reason.BAD_TOPIC_FORMAT, parts[1] if tenant_ok else None)
            return None
        tenant_id, device_id, msg_type = topic.groups()
        if message.http and msg_type not in HTTP_MSG_TYPES:
            self._reject(message, Reason.INVALID_MSG_TYPE, tenant_id, device_id, msg_type)
            return None
        try:
            envelope = parse_envelope(
                message.payload,
                max_keys=self._settings.ingest_max_metric_keys,
                max_depth=self._settings.ingest_max_depth,
            )
            if envelope.ts is not None:
                if envelope.ts > now + timedelta(seconds=self._settings.ingest_max_clock_skew):
                    raise EnvelopeError("ts is in the future")
                if envelope.ts < now - timedelta(days=limits.retention_days):
                    raise EnvelopeError("ts is older than the retention period")
        except EnvelopeError as exc:
            reason = Reason.INVALID_JSON if exc.json_error else Reason.INVALID_ENVELOPE
            self._reject(message, reason, tenant_id, device_id, msg_type, detail=str(exc))
            return None
        if envelope.tenant_id is not None and envelope.tenant_id != tenant_id:
            self._reject(
                message, Reason.TENANT_MISMATCH_TOPIC_VS_PAYLOAD, tenant_id, device_id, msg_type, envelope
            )
            return None
        if not envelope.site_id:
            self._reject(message, Reason.MISSING_SITE_ID, tenant_id, device_id, msg_type, envelope)
            return None
        message.seq = envelope.seq
        return _Checked(message, tenant_id, device_id, msg_type, envelope)

    async def _already_stored(self, retained: list[_Checked]) -> set[tuple]:
        """Of these retained deliveries (with a `ts`), the ones whose row is already in telemetry.

        The broker sends a retained message again, retain flag set, whenever a subscription is made; a
        live publish reaches a subscriber with the flag clear. So a retained delivery is stored only
        when no row has its device, type, `ts` and `seq` yet — the first time ingest hears of a message
        published while nobody was subscribed — and one without `ts` never: its time would be made up.
        """
        keys = [_row_key(c) for c in retained if c.envelope.ts is not None]
        if not keys:
            return set()

        async def query() -> set[tuple]:
            async with operator_tx(self.writer.pool, "service:ingest") as conn:
                rows = await conn.fetch(
                    """SELECT k.t, k.d, k.m, k.ts, k.seq
                         FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::bigint[])
                              AS k(t, d, m, ts, seq)
                        WHERE EXISTS (SELECT 1 FROM telemetry x WHERE x.tenant_id = k.t AND x.device_id = k.d
                                         AND x.time = k.ts AND x.msg_type = k.m AND x.seq = k.seq)""",
                    *map(list, zip(*keys, strict=True)),
                )
            return {tuple(r) for r in rows}

        return await self._retrying(query)

    async def _load_credentials(self, keys: set[tuple[str, str]]) -> None:
        """Load what the cache lacks; while the database is away, wait (backpressure) rather than guess."""
        missing = {k for k in keys if self.cache.lookup(k) is MISSING}
        if missing:
            await self._retrying(lambda: self.cache.load(missing))

    async def _retrying(self, query):
        delay = 0.1
        while True:
            try:
                return await query()
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
                if not is_transient(exc):
                    raise
                log.warning("ingest lookup failed; retrying", error=str(exc), retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    def _check_credentials(self, c: _Checked, auth: DeviceAuth | None) -> Reason | None:
        """Checks 6-10 of §2.1, against the registry, in the reference's order. The token is checked
        first all the same, so that `authenticated` tells whose budget any rejection spends."""
        if auth is None:
            return Reason.UNREGISTERED_DEVICE
        token_reason = self._check_token(c, auth)
        c.message.authenticated = token_reason is None
        if auth.tenant_status != "ACTIVE":
            return Reason.TENANT_SUSPENDED
        if auth.subscription_status == "SUSPENDED":
            return Reason.SUBSCRIPTION_SUSPENDED
        if auth.subscription_status == "EXPIRED":
            return Reason.SUBSCRIPTION_EXPIRED
        if auth.status != "ACTIVE":
            return Reason.DEVICE_REVOKED
        if auth.site_id != c.envelope.site_id:
            return Reason.SITE_MISMATCH_REGISTRY_VS_PAYLOAD
        return token_reason

    def _check_token(self, c: _Checked, auth: DeviceAuth) -> Reason | None:
        if auth.token_hash is None:
            return Reason.TOKEN_NOT_SET_IN_REGISTRY
        token = c.message.token if c.message.token is not None else c.envelope.provision_token
        if not token:
            return Reason.TOKEN_MISSING
        key = (c.tenant_id, c.device_id)
        known = self._verified.get(key)
        if known is not None and known[0] == auth.token_hash and hmac.compare_digest(known[1], token):
            return None
        if not secret_matches(token, auth.token_hash):
            return Reason.TOKEN_INVALID
        if len(self._verified) >= self._settings.ingest_auth_cache_size:
            self._verified.clear()
        self._verified[key] = (auth.token_hash, token)
        return None

    def _reject(
        self,
        message: Inbound,
        reason: Reason,
        tenant_id: str | None = None,
        device_id: str | None = None,
        msg_type: str | None = None,
        envelope: Envelope | None = None,
        detail: str | None = None,
    ) -> None:
        self.counts.inc(reason.value)
        message.detail = detail or _DETAILS.get(reason, reason.value)
        minute = message.received_at.replace(second=0, microsecond=0)
        if minute != self._quarantine_minute:
            self._quarantine_minute, self._quarantined = minute, Counter()
        # Authenticated rejections use the device's own share; the others a separate one per device and,
        # together, one per tenant — so a flood without the token never takes the device's share.
        authenticated = message.authenticated
        device_key = (tenant_id or "", device_id or "", authenticated)
        self._quarantined[device_key] += 1
        store = self._quarantined[device_key] <= self._settings.ingest_quarantine_per_device_minute
        if not authenticated:
            tenant_key = (tenant_id or "", None, False)
            self._quarantined[tenant_key] += 1
            cap = self._settings.ingest_quarantine_unauthenticated_per_tenant_minute
            store = store and self._quarantined[tenant_key] <= cap
        if message.retry_after is not None:
            # The HTTP per-device window: the client is answered 429 with Retry-After and keeps the message
            # to send again, so the refusal is counted, not stored (as before the window moved here).
            store = False
        self.writer.add(
            QuarantineRow(
                ingested_at=message.received_at,
                topic=_clean_text(message.topic, 512),
                reason=reason,
                payload=_quarantine_payload(message.payload, envelope, detail) if store else {},
                tenant_id=tenant_id,
                device_id=device_id,
                site_id=envelope.site_id if envelope is not None else None,
                msg_type=msg_type,
                event_ts=envelope.ts if envelope is not None else None,
                store=store,
            ),
            message.done,
        )


def _row_key(c: _Checked) -> tuple:
    return (c.tenant_id, c.device_id, c.msg_type, c.envelope.ts, c.envelope.seq)


_DETAILS = {
    Reason.PAYLOAD_TOO_LARGE: "payload larger than MAX_PAYLOAD_BYTES",
    Reason.BAD_TOPIC_FORMAT: "expected tenant/{tenant_id}/device/{device_id}/{msg_type} with valid ids",
    Reason.RATE_LIMITED: "device or tenant message rate exceeded",
    Reason.INVALID_MSG_TYPE: "msg_type must be telemetry or heartbeat",
    Reason.TENANT_MISMATCH_TOPIC_VS_PAYLOAD: "payload tenant_id differs from the topic's",
    Reason.MISSING_SITE_ID: "site_id is required",
    Reason.UNREGISTERED_DEVICE: "no such device",
    Reason.TENANT_SUSPENDED: "the tenant is not active",
    Reason.SUBSCRIPTION_SUSPENDED: "the device's subscription is suspended",
    Reason.SUBSCRIPTION_EXPIRED: "the device's subscription has expired",
    Reason.DEVICE_REVOKED: "the device is not active",
    Reason.SITE_MISMATCH_REGISTRY_VS_PAYLOAD: "site_id differs from the device's registered site",
    Reason.TOKEN_NOT_SET_IN_REGISTRY: "the device has no provision token; activate it first",
    Reason.TOKEN_MISSING: "provision token missing",
    Reason.TOKEN_INVALID: "provision token invalid",
}


def _clean_text(text: str, limit: int) -> str:
    """Text columns refuse NUL; keep rows writable whatever a client sent."""
    return text.replace("\x00", "\ufffd")[:limit]


def _quarantine_payload(raw: bytes, envelope: Envelope | None, detail: str | None) -> dict:
    """What an operator needs to see why a message was refused — never the device's token."""
    if envelope is not None:
        body = envelope.model_dump(mode="json", exclude_none=True)
        if "provision_token" in body:
            body["provision_token"] = _REDACTED
        return body
    text = raw[: _PREVIEW_CHARS * 4].decode("utf-8", errors="replace")
    preview = _TOKEN_IN_TEXT.sub(rf"\g<1>{_REDACTED}\g<2>", _clean_text(text, _PREVIEW_CHARS))
    payload: dict = {"raw": preview, "bytes": len(raw), "truncated": len(raw) > _PREVIEW_CHARS}
    if detail:
        payload["detail"] = detail[:500]
    return payload


def build_ingestor(settings: Settings, pool, transport: str) -> Ingestor:
    """The validation pipeline and its writer, as the ingest service (`transport="mqtt"`) and HTTP ingest
    (the API, `"http"`) run them; the writer's backlog is `pulse_ingest_queue_depth{transport}`."""
    writer = BatchWriter(
        pool,
        batch_size=settings.ingest_batch_size,
        flush_interval=settings.ingest_flush_ms / 1000,
        max_pending=settings.ingest_max_inflight,
    )
    metrics.INGEST_QUEUE_DEPTH.labels(transport=transport).set_function(lambda: writer.pending)
    cache = DeviceAuthCache(
        pool, ttl=settings.ingest_auth_cache_ttl, max_size=settings.ingest_auth_cache_size
    )
    return Ingestor(settings, writer, cache, LimitsWatcher(pool, settings.ingest_settings_poll_seconds))


async def wait_for_limits(ingestor: Ingestor) -> None:
    """Read the live limits once before taking traffic; keep trying while the database starts."""
    backoff = Backoff(0.2, 5.0)
    while True:
        try:
            await ingestor.limits.refresh()
            return
        except (OSError, TimeoutError, ConnectionError) as exc:
            log.warning("waiting for the database", error=str(exc))
        await backoff.sleep()
