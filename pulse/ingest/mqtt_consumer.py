"""MQTT side of ingest: a paho client with manual acknowledgements.

paho's network thread hands each message to the event loop through `Inbox`. A message holds one of
`ingest_max_inflight` slots from arrival until its row (or quarantine row) is committed; then, and only
then, a QoS 1 message is acknowledged. When the slots run out, paho's thread waits, stops reading the
socket, and the broker holds further messages: backpressure instead of loss.

The session is persistent (clean start off, one-hour expiry, fixed client id), so messages that
arrive while ingest restarts or the database is away wait in the broker. Because the session also keeps
subscriptions, `stale` filters (what this client id subscribed to before, recorded in the database by
the service) are unsubscribed on connect: the subscriptions are exactly the configured one.

Retained messages: the subscription asks for them only when it is new (MQTT v5 retain handling 1), and
every message carries its retain flag to the pipeline, which never stores a re-sent one twice.
"""

from __future__ import annotations

import asyncio
import collections
import socket
import threading
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from pulse.broker.access import service_login
from pulse.config import Settings
from pulse.ingest.pipeline import Inbound
from pulse.ingest.reasons import Reason
from pulse.log import get_logger

log = get_logger("pulse.ingest")

SESSION_EXPIRY_SECONDS = 3600


class Inbox:
    """Thread-to-loop handoff with a bound on messages not yet committed.

    In flight = received - completed; each counter is written by one thread only (paho's, the loop's),
    so no lock is needed on the hot path. paho's thread waits on an Event only when the bound is hit.
    """

    # Once woken, let a few more messages arrive before draining: far fewer cross-thread wake-ups.
    GATHER_SECONDS = 0.002

    def __init__(self, loop: asyncio.AbstractEventLoop, capacity: int):
        self._loop = loop
        self._capacity = capacity
        self._received = 0  # written by paho's thread only
        self._completed = 0  # written by the event loop only
        self._room = threading.Event()
        self._room.set()
        self._queue: collections.deque[Inbound] = collections.deque()
        self._wake = asyncio.Event()
        self._signalled = False
        self.closed = False

    def put(self, message: Inbound) -> None:
        """Called from paho's thread; blocks while `capacity` messages are uncommitted."""
        while self._received - self._completed >= self._capacity:
            self._room.clear()
            if self._received - self._completed < self._capacity:
                break
            if self.closed:
                return
            self._room.wait(timeout=1.0)
        self._received += 1
        self._queue.append(message)
        if not self._signalled:
            self._signalled = True
            self._loop.call_soon_threadsafe(self._wake.set)

    def release(self) -> None:
        """Called on the event loop when a message is committed."""
        self._completed += 1
        if not self._room.is_set() and self._received - self._completed < self._capacity // 2 + 1:
            self._room.set()

    async def get(self, max_items: int) -> list[Inbound]:
        while not self._queue:
            self._signalled = False
            if self._queue:
                break
            await self._wake.wait()
            self._wake.clear()
            await asyncio.sleep(self.GATHER_SECONDS)
        batch = []
        while self._queue and len(batch) < max_items:
            batch.append(self._queue.popleft())
        return batch


class MqttConsumer:
    def __init__(self, settings: Settings, inbox: Inbox, stale: set[str] | None = None):
        self._settings = settings
        self._inbox = inbox
        self.connected = threading.Event()
        self._stale = set(stale or ())
        self._unsubscribe_mid: int | None = None
        self.stale_removed = threading.Event()  # set once the broker confirmed the unsubscribe
        if not self._stale:
            self.stale_removed.set()
        v5 = settings.mqtt_version == "5"
        client_id = client_id_of(settings)
        self._client = mqtt.Client(
            callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
            clean_session=None if v5 else False,
        )
        login = service_login(settings, "ingest")  # None on an anonymous broker
        if login is not None:
            self._client.username_pw_set(*login)
        self._client.manual_ack_set(True)
        self._client.max_inflight_messages_set(1000)
        self._client.reconnect_delay_set(min_delay=1, max_delay=30)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.on_unsubscribe = self._on_unsubscribe
        self.subscription = self.filter_for(settings)

    @staticmethod
    def filter_for(settings: Settings) -> str:
        group = settings.ingest_shared_group
        return f"$share/{group}/{settings.ingest_topic}" if group else settings.ingest_topic

    def start(self) -> None:
        host, port = self._settings.mqtt_host_port
        properties = None
        kwargs = {}
        if self._settings.mqtt_version == "5":
            properties = Properties(PacketTypes.CONNECT)
            properties.SessionExpiryInterval = SESSION_EXPIRY_SECONDS
            # How many unacknowledged QoS 1 messages the broker may send us (we ack after commit).
            properties.ReceiveMaximum = min(self._settings.ingest_max_inflight, 65535)
            kwargs["clean_start"] = False
        self._client.connect_async(host, port, keepalive=60, properties=properties, **kwargs)
        self._client.loop_start()

    def stop(self) -> None:
        self._inbox.closed = True
        self._client.disconnect()
        self._client.loop_stop()

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.warning("MQTT connection refused", reason=str(reason_code))
            return
        if self._stale:
            self._unsubscribe_mid = client.unsubscribe(sorted(self._stale))[1]
            log.info("ingest unsubscribes from filters no longer configured", filters=sorted(self._stale))
        qos = self._settings.ingest_qos
        if self._settings.mqtt_version == "5":
            # Retained messages only for a new subscription, not again on every reconnect.
            options = SubscribeOptions(qos=qos, retainHandling=SubscribeOptions.RETAIN_SEND_IF_NEW_SUB)
            client.subscribe(self.subscription, options=options)
        else:
            client.subscribe(self.subscription, qos=qos)
        self.connected.set()
        log.info("ingest connected to the broker", subscription=self.subscription)

    def _on_unsubscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        if mid == self._unsubscribe_mid:
            self._stale.clear()
            self.stale_removed.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connected.clear()
        if not self._inbox.closed:
            log.warning("ingest lost the broker; reconnecting", reason=str(reason_code))

    def _on_message(self, client, userdata, msg: mqtt.MQTTMessage) -> None:
        try:
            topic = msg.topic
        except UnicodeDecodeError:  # the topic is validated (and quarantined) downstream
            topic = msg._topic.decode("utf-8", errors="replace")
        mid, qos, retained = msg.mid, msg.qos, bool(msg.retain)

        def done(_: Reason | None) -> None:
            if qos > 0:
                client.ack(mid, qos)
            self._inbox.release()

        self._inbox.put(
            Inbound(
                topic=topic, payload=msg.payload, received_at=datetime.now(UTC), done=done, retained=retained
            )
        )


def client_id_of(settings: Settings) -> str:
    return settings.ingest_client_id or f"pulse-ingest-{socket.gethostname()}"[:64]
