"""What the tests need to know about the MQTT broker they run against."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Broker:
    url: str
    v5: bool  # MQTT v5 and shared subscriptions (Mosquitto); the amqtt fallback has neither


def broker_settings(broker: Broker) -> dict[str, object]:
    """Settings for Pulse's own MQTT clients on this broker."""
    return {} if broker.v5 else {"mqtt_version": "3.1.1", "ingest_shared_group": ""}
