import assert from "node:assert/strict";
import type { SensorReading } from "@iot/shared";
import { AlertManager } from "./alerts.ts";
import type { Valid } from "./decode.ts";
import { Detection } from "./detect.ts";
import { DEFAULT_DETECTOR_CONFIG } from "./detectors.ts";

const valid = (seq: number, t: number, value: number, sensor = "sensor_0001"): Valid => ({
  reading: {
    sensor_id: sensor,
    sensor_type: "temperature",
    location: "office-lab",
    value,
    timestamp: "",
  } as SensorReading,
  eventTime: t,
  offset: seq,
  late: false,
  replay: false,
  id: `${sensor}:${seq}`,
});

Deno.test("detection: every anomalous reading is one event; single spikes open no incident, a stuck sensor does", () => {
  const alerts = new AlertManager(undefined, () => 0);
  const d = new Detection(alerts, DEFAULT_DETECTOR_CONFIG);
  const batch: Valid[] = [];
  for (let i = 0; i < 60; i++) batch.push(valid(i, i * 1000, i % 20 === 10 ? 40 : 20 + (i % 3) * 0.1));
  d.detect(0, batch, new Set(batch.map((v) => v.id)), 0);
  const events = d.takeEvents();
  const spikes = events.filter((e) => e.value === 40);
  assert.equal(spikes.length, 3, "one event per spike reading");
  assert.equal(spikes[0].alert_type, "threshold");
  assert.ok(spikes[0].detectors.includes("threshold"));
  assert.equal(spikes[0]._id, "sensor_0001:10", "the reading's id");
  assert.deepEqual(spikes[0].band, { min: 15, max: 25 });
  assert.equal(alerts.openCount, 0, "spikes stay events");
  // A stuck sensor: 25 identical readings open an incident.
  const stuck = Array.from({ length: 25 }, (_, i) => valid(i, i * 1000, 21.5, "sensor_0002"));
  d.detect(0, stuck, new Set(stuck.map((v) => v.id)), 0);
  assert.equal(alerts.openIncident("sensor_0002")?.rule, "stuck");
  assert.ok(d.takeEvents().every((e) => e.alert_type === "stuck"));
  // Replays (not inserted) are not judged again.
  d.detect(0, stuck, new Set(), 0);
  assert.equal(d.takeEvents().length, 0);
});
