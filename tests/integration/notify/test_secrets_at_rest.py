"""Secrets at rest: stored sealed with PULSE_SECRETS_KEY, opened at send time, legacy plaintext rows
still work, and the rotation re-encrypts everything so the old key can be dropped."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from pulse import crypto
from pulse.api.queries import notify_targets as store
from pulse.db.tx import operator_tx
from pulse.identity import keys
from pulse.notify import configs, deliver
from pulse.notify.dispatch import Dispatcher
from pulse.notify.targets import INTEGRATIONS
from tests.factories import make_alert, make_integration
from tests.integration.notify.helpers import Receiver, dispatch, fetch
from tests.integration.notify.test_delivery import SECRET, later, run_due, verify_standard

TOKEN = "Bearer tok-secret-0123456789"
SMTP_PASSWORD = "smtp-pass-0123456789"


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"notify_allow_loopback": True})


async def _create(pool, settings, tenant, config, kind="webhook"):
    async with operator_tx(pool, "test") as conn:
        return await store.create_target(
            conn, INTEGRATIONS, tenant, settings, name=f"{kind}-x", kind=kind, enabled=True, config=config
        )


async def _raw(pool) -> list[dict]:
    return [
        r["config_json"]
        for r in await fetch(
            pool, "SELECT config_json FROM integrations ORDER BY name DESC, config_json->>'url'"
        )
    ]


async def test_secrets_are_stored_sealed_and_delivery_opens_them(pool, settings, tenant, make_worker):
    async with Receiver() as receiver:
        await _create(
            pool,
            settings,
            tenant,
            {"url": receiver.url, "secret": SECRET, "headers": {"Authorization": TOKEN}},
        )
        await _create(
            pool,
            settings,
            tenant,
            {
                "smtp_host": "127.0.0.1",
                "smtp_password": SMTP_PASSWORD,
                "smtp_user": "u",
                "from_address": "a@pulse.example",
                "to": ["b@pulse.example"],
            },
            kind="email",
        )
        webhook, email = await _raw(pool)
        for plaintext in (SECRET, TOKEN, SMTP_PASSWORD):
            assert plaintext not in str([email, webhook])
        assert crypto.is_sealed(webhook["secret"]) and crypto.is_sealed(webhook["headers"]["Authorization"])
        assert crypto.is_sealed(email["smtp_password"])
        # the fields that say nothing secret stay readable (and queryable)
        assert webhook["url"] == receiver.url and email["smtp_host"] == "127.0.0.1"

        async with operator_tx(pool, "test") as conn:
            await conn.execute(
                "INSERT INTO integration_routes (tenant_id, integration_id) SELECT tenant_id, integration_id"
                " FROM integrations WHERE type = 'webhook'"
            )
        await make_alert(pool, tenant)
        assert await dispatch(pool, Dispatcher()) == 1
        worker = make_worker(keyring=crypto.Keyring.from_settings(settings))
        await run_due(worker, later())
        (request,) = receiver.requests
        assert verify_standard(SECRET, request.headers, request.body)
        assert request.headers["authorization"] == TOKEN

    # without the key the worker cannot open them: a permanent config_invalid, no plaintext anywhere
    async with Receiver() as receiver:
        target = await _create(pool, settings, tenant, {"url": receiver.url, "secret": SECRET})
        ctx = deliver.send_context(settings.model_copy(update={"secrets_key": None}), "m-1")
        outcome = await deliver.deliver_once("webhook", target.config, _event(tenant), None, ctx)
        assert not outcome.result.ok and not outcome.result.retryable and "PULSE_SECRETS_KEY" in outcome.error
        assert receiver.requests == []


def _event(tenant):
    from pulse.api.routes.customer.notify_targets import test_event

    return test_event(tenant, None)


async def test_plaintext_rows_from_before_encryption_still_work(pool, settings, tenant, make_worker):
    async with Receiver() as receiver:
        await make_integration(
            pool, tenant, {"url": receiver.url, "secret": SECRET, "headers": {"X-Team": TOKEN}}
        )
        await make_alert(pool, tenant)
        assert await dispatch(pool, Dispatcher()) == 1
        await run_due(make_worker(keyring=crypto.Keyring.from_settings(settings)), later())
        (request,) = receiver.requests
        assert verify_standard(SECRET, request.headers, request.body) and request.headers["x-team"] == TOKEN
        # an update that keeps the masked secrets stores them sealed from then on
        (row,) = await fetch(pool, "SELECT integration_id FROM integrations")
        async with operator_tx(pool, "test") as conn:
            current = await store.find_target(conn, INTEGRATIONS, tenant, row["integration_id"], lock=True)
            await store.update_target(conn, INTEGRATIONS, current, settings, config=current.shown_config)
        (stored,) = await _raw(pool)
        assert SECRET not in str(stored) and TOKEN not in str(stored)
        opened = configs.unseal("webhook", stored, crypto.Keyring.from_settings(settings))
        assert opened["secret"] == SECRET and opened["headers"] == {"X-Team": TOKEN}


async def test_rotation_reencrypts_everything_so_the_old_key_can_go(pool, settings, tenant):
    from pulse.notify.rekey import reseal_targets

    old = crypto.Keyring.from_settings(settings)
    await _create(pool, settings, tenant, {"url": "http://127.0.0.1:9/a", "secret": SECRET})
    await make_integration(pool, tenant, {"url": "http://127.0.0.1:9/b", "headers": {"Authorization": TOKEN}})
    kid = await keys.ensure_current_key(pool, None, old)
    new_key = crypto.generate_key()
    both = crypto.Keyring.parse(f"{new_key},{settings.secrets_key.get_secret_value()}")
    assert await reseal_targets(pool, both) == 2
    assert await keys.reseal(pool, both) == 1
    assert await reseal_targets(pool, both) == 2  # tokens are re-encrypted every time (fresh IV)

    new_only = crypto.Keyring.parse(new_key)
    a, b = [
        r["config_json"]
        for r in await fetch(pool, "SELECT config_json FROM integrations ORDER BY config_json->>'url'")
    ]
    assert configs.unseal("webhook", a, new_only)["secret"] == SECRET
    assert configs.unseal("webhook", b, new_only)["headers"] == {"Authorization": TOKEN}
    with pytest.raises(crypto.SecretsKeyError):
        configs.unseal("webhook", a, old)
    store_ = keys.KeyStore(pool, secret=None, overlap=keys.timedelta(minutes=5), keyring=new_only)
    assert (await store_.signing_key()).kid == kid
    with pytest.raises(RuntimeError):
        await keys.KeyStore(pool, secret=None, overlap=keys.timedelta(minutes=5)).signing_key()

    # the API and the send path work with the new key alone
    settings = settings.model_copy(update={"secrets_key": SecretStr(new_key)})
    (row,) = await fetch(pool, "SELECT config_json FROM integrations WHERE name LIKE 'webhook-x'")
    ctx = deliver.send_context(settings, "m-2")
    outcome = await deliver.deliver_once("webhook", row["config_json"], _event(tenant), None, ctx)
    assert outcome.result.reason != "config_invalid"


async def test_legacy_passphrase_signing_keys_are_still_read(pool):
    kid = await keys.ensure_current_key(pool, b"old-passphrase")
    store_ = keys.KeyStore(pool, secret=b"old-passphrase", overlap=keys.timedelta(minutes=5), keyring=None)
    assert (await store_.signing_key()).kid == kid


async def test_the_issuer_seals_its_signing_keys_with_the_secrets_key(settings, pool):
    from pulse.identity.issuer import Issuer

    issuer = Issuer(pool, settings)  # the test settings carry a secrets key, as `pulse up` always does
    kid = (await issuer.keys.signing_key()).kid
    (row,) = await fetch(pool, "SELECT private_pem FROM signing_keys WHERE kid = $1", kid)
    assert "PRIVATE KEY" not in row["private_pem"]  # a Fernet token, not PEM
    keyring = crypto.Keyring.parse(settings.secrets_key.get_secret_value())
    assert b"PRIVATE KEY" in keyring.decrypt(row["private_pem"])
