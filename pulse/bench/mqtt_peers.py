"""Processes the ingest benchmark starts: a publisher and a bare subscriber, both plain paho-mqtt.

Run as `python -m pulse.bench.mqtt_peers publish|subscribe ...`; each prints one JSON line with its
timings. They live in their own processes so that neither competes with the code under test for the
interpreter lock.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time

import orjson
import paho.mqtt.client as mqtt


def _client(url: str, client_id: str = "") -> mqtt.Client:
    host, _, port = url.split("://", 1)[-1].partition(":")
    client = mqtt.Client(
        callback_api_version=mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
    )
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect(host, int(port or 1883), keepalive=60)
    return client


def publish(args: argparse.Namespace) -> dict:
    """Publish `count` messages spread over the devices in `devices_file`, as fast as paho allows."""
    devices = orjson.loads(open(args.devices_file, "rb").read())  # [[device_id, site_id, token], ...]
    payloads = []
    for seq in range(args.count):
        device_id, site_id, token = devices[seq % len(devices)]
        body = {"site_id": site_id, "provision_token": token, "seq": seq,
                "metrics": {"temperature_c": 20 + seq % 7, "humidity_pct": 40 + seq % 11, "battery_pct": 88.5}}  # fmt: skip
        payloads.append((f"tenant/{args.tenant}/device/{device_id}/telemetry", orjson.dumps(body)))
    client = _client(args.url)
    client.loop_start()
    started = time.time()
    infos = [client.publish(topic, payload, qos=args.qos) for topic, payload in payloads]
    for info in infos:
        info.wait_for_publish(timeout=120)
    finished = time.time()
    client.disconnect()
    client.loop_stop()
    return {"started": started, "finished": finished, "sent": sum(1 for i in infos if i.is_published())}


def subscribe(args: argparse.Namespace) -> dict:
    """Count messages on `topic` until `count` arrived or the stream has been idle for `idle` seconds."""
    received = 0
    first = last = 0.0
    done = threading.Event()

    def on_message(client, userdata, msg) -> None:
        nonlocal received, first, last
        last = time.time()
        if not received:
            first = last
        received += 1
        if received >= args.count:
            done.set()

    def on_connect(client, userdata, flags, reason_code, properties) -> None:
        client.subscribe(args.topic, qos=args.qos)

    client = _client(args.url, client_id=f"bench-bare-{time.time_ns()}")
    client.on_message = on_message
    client.on_connect = on_connect
    client.loop_start()
    usage = os.times()
    cpu_at_ready = usage.user + usage.system
    print(orjson.dumps({"ready": True}).decode(), flush=True)
    while not done.wait(timeout=args.idle):
        if received and time.time() - last > args.idle:
            break
        if not received and time.time() - args.start_deadline > 0:
            break
    client.disconnect()
    client.loop_stop()
    usage = os.times()
    return {
        "received": received,
        "first": first,
        "last": last,
        "cpu": usage.user + usage.system - cpu_at_ready,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m pulse.bench.mqtt_peers")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("publish")
    p.add_argument("--url", required=True)
    p.add_argument("--tenant", required=True)
    p.add_argument("--devices-file", required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--qos", type=int, default=0)
    s = sub.add_parser("subscribe")
    s.add_argument("--url", required=True)
    s.add_argument("--topic", required=True)
    s.add_argument("--count", type=int, required=True)
    s.add_argument("--qos", type=int, default=0)
    s.add_argument("--idle", type=float, default=5.0)
    s.add_argument("--start-deadline", type=float, default=time.time() + 120)
    args = parser.parse_args()
    result = publish(args) if args.command == "publish" else subscribe(args)
    sys.stdout.write(orjson.dumps(result).decode() + "\n")


if __name__ == "__main__":
    main()
