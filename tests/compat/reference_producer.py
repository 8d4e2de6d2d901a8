"""A producer the team did not write: kafka-python sending the reference message format.

timestamp from datetime.now(timezone.utc).isoformat() (e.g. 2026-12-01T18:07:04.037040+00:00), no seq,
sensor_model like MODEL_03, metadata and status on some readings only, an unknown sensor type (co2) and unknown
locations, and a field the contract does not name (rssi). Each sensor's event times increase strictly at
millisecond resolution, as a device sampling on its own clock does (the reading id is sensor_id plus event
time in milliseconds).

Prints one JSON object on stdout: {"sent": N, "acked": [{"partition", "offset", "key", "value"}], "errors": [...]}.
"""

import argparse
import json
import random
import sys
from datetime import datetime, timedelta, timezone

from kafka import KafkaProducer

TYPES = [
    ("temperature", "°C", 15.0, 25.0),
    ("humidity", "%", 40.0, 60.0),
    ("co2", "ppm", 400.0, 1200.0),  # not a built-in type
]
LOCATIONS = ["office-main", "greenhouse-3", "cold store 2"]  # the last two are not built in


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--brokers", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--sensors", type=int, default=12)
    ap.add_argument("--seed", type=int, default=13)
    args = ap.parse_args()
    rng = random.Random(args.seed)

    producer = KafkaProducer(
        bootstrap_servers=args.brokers.split(","),
        client_id="reference-producer",
        acks="all",
        retries=5,
        key_serializer=lambda k: k.encode("utf-8"),
        value_serializer=lambda v: v.encode("utf-8"),
    )
    last = {}
    pending = []
    for i in range(args.count):
        n = i % args.sensors
        sensor = f"lab-{n:02d}"
        kind, unit, lo, hi = TYPES[n % len(TYPES)]
        now = datetime.now(timezone.utc)
        if sensor in last and now <= last[sensor] + timedelta(milliseconds=1):
            now = last[sensor] + timedelta(milliseconds=1)
        last[sensor] = now
        reading = {
            "sensor_id": sensor,
            "sensor_type": kind,
            "value": round(rng.uniform(lo, hi), 2),
            "location": LOCATIONS[(n // len(TYPES)) % len(LOCATIONS)],
            "timestamp": now.isoformat(),
        }
        if i % 4 != 1:
            reading["status"] = "normal"
        if i % 2 == 0:
            reading["metadata"] = {"unit": unit, "sensor_model": f"MODEL_{n % 5:02d}", "battery_level": 87.5}
        if i % 3 == 0:
            reading["rssi"] = -60 - n
        value = json.dumps(reading)
        pending.append((sensor, value, producer.send(args.topic, key=sensor, value=value)))
    producer.flush(timeout=60)
    acked, errors = [], []
    for key, value, future in pending:
        try:
            md = future.get(timeout=60)
            acked.append({"partition": md.partition, "offset": md.offset, "key": key, "value": value})
        except Exception as e:  # an unacknowledged send: reported, not stored
            errors.append(f"{key}: {e!r}")
    producer.close(timeout=10)
    json.dump({"sent": len(pending), "acked": acked, "errors": errors}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
