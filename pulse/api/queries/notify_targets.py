"""The one store behind both notification contracts: targets (integrations or notification channels)
and the filters that send to them (integration routes or notification routing rules).

Which table and which column names is the caller's `TargetTable` / `FilterTable`; rows come back in
one shape (`Target`) or as the filter table's own columns, and each route module turns them into its
contract's models. Configs are validated by the channel, their targets checked, and shown masked
(`pulse.notify.configs`); how a refusal is named differs between the customer and admin contracts
(`ConfigErrors`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from pulse import crypto
from pulse.config import Settings
from pulse.db.patch import update_row
from pulse.errors import PulseError
from pulse.notify import configs, ssrf
from pulse.notify.channels import CHANNELS
from pulse.notify.targets import INTEGRATIONS, NOTIFICATION_CHANNELS, TargetTable

# --- configs ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConfigErrors:
    """How a contract names a refused config: the customer API answers `target_refused` and
    `invalid_config` with `{message, fields}`; the admin API (reference §2.8) `url_refused` and a text."""

    refused: str
    fields_in_detail: bool

    def invalid(self, message: str, fields: list[str]) -> PulseError:
        detail = {"message": message, "fields": fields} if self.fields_in_detail else message
        return PulseError(422, "invalid_config", detail)


CUSTOMER_ERRORS = ConfigErrors("target_refused", fields_in_detail=True)
ADMIN_ERRORS = ConfigErrors("url_refused", fields_in_detail=False)


def show_config(kind: str, data: Any) -> dict[str, Any]:
    """A stored config as responses show it. A kind no channel handles (any more) shows no values."""
    data = data if isinstance(data, dict) else {}
    if kind not in CHANNELS:
        return dict.fromkeys(data, configs.MASK)
    return configs.masked(kind, data)


async def checked_config(
    kind: str, raw: dict[str, Any], settings: Settings, errors: ConfigErrors = CUSTOMER_ERRORS
) -> dict[str, Any]:
    """Validate with the channel and check its targets; the JSON to store (secrets sealed), or a 422."""
    if kind not in CHANNELS:
        raise PulseError(422, "unsupported_type", f"no channel handles type {kind!r}")
    try:
        config = await configs.validate(kind, raw, ssrf.Policy.from_settings(settings))
    except configs.TargetRefused as exc:
        raise PulseError(422, errors.refused, str(exc)) from None
    except configs.ConfigInvalid as exc:
        raise errors.invalid(str(exc), exc.fields) from None
    except (ValueError, ssrf.Blocked) as exc:  # a channel's own check refusing something else
        raise errors.invalid(f"invalid {kind} config", ["config"]) from exc
    return configs.seal(kind, configs.stored(config), crypto.Keyring.from_settings(settings))


async def new_config(
    kind: str, raw: dict[str, Any], settings: Settings, errors: ConfigErrors = CUSTOMER_ERRORS
) -> dict[str, Any]:
    """`checked_config` for a new target: a secret that is the mask itself is refused (a form that copied
    a masked config would otherwise store `********` as the secret, or silently drop an optional one)."""
    if kind in CHANNELS:
        headers = raw.get("headers")
        masked = [name for name in sorted(configs.secret_fields(kind)) if raw.get(name) == configs.MASK]
        if isinstance(headers, dict):
            masked += [f"headers.{key}" for key, value in headers.items() if value == configs.MASK]
        if masked:
            raise errors.invalid(f"{configs.MASK} stands for a stored secret; send the real value", masked)
    return await checked_config(kind, raw, settings, errors)


# --- targets ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A row of either target table in one shape. `config` is as stored (secrets sealed, or plaintext in
    rows from before encryption): show it with `shown_config`."""

    tenant_id: str
    id: Any  # a UUID (integrations) or a bigint (notification channels)
    name: str
    kind: str
    enabled: bool
    config: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    @property
    def shown_config(self) -> dict[str, Any]:
        return show_config(self.kind, self.config)


def _columns(t: TargetTable) -> str:
    return (
        f"tenant_id, {t.id} AS id, name, {t.kind} AS kind, {t.enabled} AS enabled, {t.config} AS config, "
        "created_at, updated_at"
    )


def _target(row: asyncpg.Record) -> Target:
    return Target(**dict(row))


async def find_target(
    conn: asyncpg.Connection, t: TargetTable, tenant: str | None, target_id: Any, *, lock: bool = False
) -> Target:
    """The tenant's target, or 404 `not_found`; `lock` holds it for an update."""
    row = await conn.fetchrow(
        f"SELECT {_columns(t)} FROM {t.table} WHERE tenant_id = $1 AND {t.id} = $2"
        + (" FOR UPDATE" if lock else ""),
        tenant,
        target_id,
    )
    if row is None:
        raise PulseError(404, "not_found", f"no {t.noun} {target_id}")
    return _target(row)


async def target_exists(conn: asyncpg.Connection, t: TargetTable, tenant: str, target_id: Any) -> bool:
    return bool(
        await conn.fetchval(
            f"SELECT 1 FROM {t.table} WHERE tenant_id = $1 AND {t.id} = $2", tenant, target_id
        )
    )


@dataclass(frozen=True)
class TargetQuery:
    """Which targets a list shows. `tenant` None: every tenant (the admin API's connection sees all)."""

    tenant: str | None
    kind: str | None = None
    enabled: bool | None = None
    newest_first: bool = False  # else by name

    def where(self, t: TargetTable) -> str:
        return (
            f"($1::text IS NULL OR tenant_id = $1) AND ($2::text IS NULL OR {t.kind} = $2)"
            f" AND ($3::boolean IS NULL OR {t.enabled} = $3)"
        )

    @property
    def args(self) -> tuple[Any, ...]:
        return self.tenant, self.kind, self.enabled


async def list_targets(
    conn: asyncpg.Connection, t: TargetTable, query: TargetQuery, limit: int, offset: int = 0
) -> list[Target]:
    order = f"created_at DESC, {t.id}" if query.newest_first else f"name, {t.id}"
    rows = await conn.fetch(
        f"SELECT {_columns(t)} FROM {t.table} WHERE {query.where(t)} ORDER BY {order} LIMIT $4 OFFSET $5",
        *query.args,
        limit,
        offset,
    )
    return [_target(r) for r in rows]


async def count_targets(conn: asyncpg.Connection, t: TargetTable, query: TargetQuery) -> int:
    return await conn.fetchval(f"SELECT count(*) FROM {t.table} WHERE {query.where(t)}", *query.args)


async def insert_target(
    conn: asyncpg.Connection,
    t: TargetTable,
    tenant: str,
    *,
    name: str,
    kind: str,
    enabled: bool,
    config: dict[str, Any],
) -> Target:
    """Store a target whose config `new_config` already checked."""
    row = await conn.fetchrow(
        f"""INSERT INTO {t.table} (tenant_id, name, {t.kind}, {t.enabled}, {t.config})
            VALUES ($1, $2, $3, $4, $5) RETURNING {_columns(t)}""",
        tenant,
        name,
        kind,
        enabled,
        config,
    )
    return _target(row)


async def create_target(
    conn: asyncpg.Connection,
    t: TargetTable,
    tenant: str,
    settings: Settings,
    *,
    name: str,
    kind: str,
    enabled: bool,
    config: dict[str, Any],
) -> Target:
    """Check the config (422 naming the fields, or the refused target), then store it."""
    stored = await new_config(kind, config, settings)
    return await insert_target(conn, t, tenant, name=name, kind=kind, enabled=enabled, config=stored)


async def update_target(
    conn: asyncpg.Connection,
    t: TargetTable,
    current: Target,
    settings: Settings,
    *,
    kind: str | None = None,
    config: dict[str, Any] | None = None,
    **columns: Any,
) -> Target:
    """Change `current` (found with `lock=True`): `columns` are the shared `name` and `enabled`; `kind`
    may only repeat the current one (422 `type_immutable`); a new `config` replaces the whole config,
    keeping stored secrets where it sends the mask back while its destination is unchanged (else 422
    `invalid_config` naming the masked fields)."""
    if kind is not None and kind != current.kind:
        raise PulseError(
            422, "type_immutable", f"the type of {t.noun} {current.id} cannot change (it is {current.kind!r})"
        )
    values: dict[str, Any] = {}
    if "name" in columns:
        values["name"] = columns.pop("name")
    if "enabled" in columns:
        values[t.enabled] = columns.pop("enabled")
    if columns:
        raise TypeError(f"not a target column: {', '.join(columns)}")
    if config is not None:
        incoming = config
        if current.kind in CHANNELS:
            try:
                stored = configs.unseal(current.kind, current.config, crypto.Keyring.from_settings(settings))
                incoming = configs.unmask(current.kind, config, stored)
            except configs.ConfigInvalid as exc:  # a kept secret for a new destination
                raise CUSTOMER_ERRORS.invalid(str(exc), exc.fields) from None
            except crypto.SecretsKeyError as exc:
                raise PulseError(500, "secrets_key", str(exc)) from None
        values[t.config] = await checked_config(current.kind, incoming, settings)
    if not values:
        return current
    row = await update_row(
        conn, t.table, {"tenant_id": current.tenant_id, t.id: current.id}, values, returning=_columns(t)
    )
    assert row is not None  # locked by the caller
    return _target(row)


async def delete_target(conn: asyncpg.Connection, t: TargetTable, tenant: str | None, target_id: Any) -> None:
    """Its filters and delivery jobs go with it (foreign keys)."""
    if not await conn.fetchval(
        f"DELETE FROM {t.table} WHERE tenant_id = $1 AND {t.id} = $2 RETURNING 1", tenant, target_id
    ):
        raise PulseError(404, "not_found", f"no {t.noun} {target_id}")


# --- filters (integration routes, notification routing rules) ---------------------------------------


@dataclass(frozen=True)
class FilterTable:
    """One filter table: the rows that say which alert events go to which target. The filter columns
    themselves differ between the contracts and stay the contract's (`columns`)."""

    table: str
    id: str
    target: TargetTable
    columns: tuple[str, ...]  # what a client writes, the target's id among them
    enabled: str  # the column of `columns` that switches the filter on or off
    shown: tuple[str, ...]  # what a response shows besides the id, target and filter columns
    target_as: tuple[str, str]  # the contract's names for the target's name and kind
    order: str  # how lists are ordered, columns of the filter table (alias r)
    noun: str

    def select(self) -> str:
        t, (name_as, kind_as) = self.target, self.target_as
        own = ", ".join(f"r.{c}" for c in (self.id, *self.columns, *self.shown))
        return (
            f"SELECT r.tenant_id, {own}, x.name AS {name_as}, x.{t.kind} AS {kind_as}"
            f" FROM {self.table} r JOIN {t.table} x USING (tenant_id, {t.id})"
        )


async def find_filter(
    conn: asyncpg.Connection, f: FilterTable, tenant: str | None, filter_id: Any
) -> asyncpg.Record:
    row = await conn.fetchrow(f"{f.select()} WHERE r.tenant_id = $1 AND r.{f.id} = $2", tenant, filter_id)
    if row is None:
        raise PulseError(404, "not_found", f"no {f.noun} {filter_id}")
    return row


async def lock_filter(conn: asyncpg.Connection, f: FilterTable, tenant: str | None, filter_id: Any) -> Any:
    """Hold the row for an update (404 when it is not the tenant's); its id."""
    if not await conn.fetchval(
        f"SELECT 1 FROM {f.table} WHERE tenant_id = $1 AND {f.id} = $2 FOR UPDATE", tenant, filter_id
    ):
        raise PulseError(404, "not_found", f"no {f.noun} {filter_id}")
    return filter_id


@dataclass(frozen=True)
class FilterQuery:
    """Which filters a list shows. `tenant` None: every tenant (admin API)."""

    tenant: str | None
    target_id: Any = None
    enabled: bool | None = None
    order: str | None = None  # None: the table's own order

    def where(self, f: FilterTable) -> str:
        t = f.target
        return (
            f"($1::text IS NULL OR r.tenant_id = $1) AND ($2::{t.id_type} IS NULL OR r.{t.id} = $2)"
            f" AND ($3::boolean IS NULL OR r.{f.enabled} = $3)"
        )


async def list_filters(
    conn: asyncpg.Connection, f: FilterTable, query: FilterQuery, limit: int, offset: int = 0
) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"{f.select()} WHERE {query.where(f)} ORDER BY {query.order or f.order} LIMIT $4 OFFSET $5",
        query.tenant,
        query.target_id,
        query.enabled,
        limit,
        offset,
    )


async def count_filters(conn: asyncpg.Connection, f: FilterTable, query: FilterQuery) -> int:
    return await conn.fetchval(
        f"SELECT count(*) FROM {f.table} r WHERE {query.where(f)}",
        query.tenant,
        query.target_id,
        query.enabled,
    )


async def insert_filter(
    conn: asyncpg.Connection, f: FilterTable, tenant: str, values: Mapping[str, Any]
) -> asyncpg.Record:
    """Store a filter whose target the caller found; the stored row as `find_filter` shows it."""
    names = [c for c in f.columns if c in values]
    filter_id = await conn.fetchval(
        f"""INSERT INTO {f.table} (tenant_id, {", ".join(names)})
            VALUES ($1, {", ".join(f"${i}" for i in range(2, len(names) + 2))}) RETURNING {f.id}""",
        tenant,
        *(values[c] for c in names),
    )
    return await find_filter(conn, f, tenant, filter_id)


async def create_filter(
    conn: asyncpg.Connection, f: FilterTable, tenant: str, values: Mapping[str, Any]
) -> asyncpg.Record:
    """404 for a target that is not the tenant's, else store the filter."""
    await find_target(conn, f.target, tenant, values[f.target.id])
    return await insert_filter(conn, f, tenant, values)


async def update_filter(
    conn: asyncpg.Connection, f: FilterTable, tenant: str, filter_id: Any, values: Mapping[str, Any]
) -> asyncpg.Record:
    """Set `values` (columns of `f.columns`) on a filter locked with `lock_filter`; a new target must be
    the tenant's (404)."""
    if values.get(f.target.id) is not None:
        await find_target(conn, f.target, tenant, values[f.target.id])
    unknown = set(values) - set(f.columns)
    if unknown:
        raise TypeError(f"not a column of {f.table}: {', '.join(sorted(unknown))}")
    if values:
        await update_row(conn, f.table, {"tenant_id": tenant, f.id: filter_id}, values)
    return await find_filter(conn, f, tenant, filter_id)


async def delete_filter(conn: asyncpg.Connection, f: FilterTable, tenant: str | None, filter_id: Any) -> None:
    if not await conn.fetchval(
        f"DELETE FROM {f.table} WHERE tenant_id = $1 AND {f.id} = $2 RETURNING 1", tenant, filter_id
    ):
        raise PulseError(404, "not_found", f"no {f.noun} {filter_id}")


# The two filter tables. Their filters differ on purpose (reference §5 vs §6) and stay two lists of
# columns; what they share — owner target, lookup, lock, list, write, delete — is the functions above.
INTEGRATION_ROUTES = FilterTable(
    table="integration_routes",
    id="route_id",
    target=INTEGRATIONS,
    columns=(
        "integration_id",
        "name",
        "enabled",
        "min_severity",
        "severities",
        "alert_types",
        "site_ids",
        "device_prefixes",
        "deliver_on",
        "priority",
    ),
    enabled="enabled",
    shown=("created_at", "updated_at"),
    target_as=("integration_name", "integration_type"),
    order="r.priority, r.created_at, r.route_id",  # as the dispatcher reads them
    noun="integration route",
)
ROUTING_RULES = FilterTable(
    table="notification_routing_rules",
    id="rule_id",
    target=NOTIFICATION_CHANNELS,
    columns=(
        "channel_id",
        "min_severity",
        "alert_type",
        "device_tag_key",
        "device_tag_val",
        "deliver_on",
        "throttle_minutes",
        "is_enabled",
    ),
    enabled="is_enabled",
    shown=("created_at",),
    target_as=("channel_name", "channel_type"),
    order="r.rule_id",
    noun="notification routing rule",
)
