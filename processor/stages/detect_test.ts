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
  d.detect(0, batch, batch.map(() => true), 0);
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
  d.detect(0, stuck, stuck.map(() => true), 0);
  assert.equal(alerts.openIncident("sensor_0002")?.rule, "stuck");
  assert.ok(d.takeEvents().every((e) => e.alert_type === "stuck"));
  // Replays (not inserted) are not judged again.
  d.detect(0, stuck, stuck.map(() => false), 0);
  assert.equal(d.takeEvents().length, 0);
});

function stored1(t: number, value: number, offset: number): Valid {
  const reading: SensorReading = {
    sensor_id: "s1",
    sensor_type: "temperature",
    value,
    location: "lab-7",
    timestamp: new Date(t).toISOString(),
  };
  return { reading, eventTime: t, offset, late: false, replay: false, id: `s1:${t}` };
}

Deno.test("detection judges only the readings this write stored, not a duplicate of the same batch", () => {
  const now = 1_000_000;
  const detection = new Detection(new AlertManager(undefined, () => now), DEFAULT_DETECTOR_CONFIG);
  const t = Date.UTC(2026, 0, 1);
  // The second record is the same reading (same id) sent again: the insert stored only the first.
  const batch = [stored1(t, 21, 0), stored1(t, 21, 1), stored1(t + 1000, 22, 2)];
  assert.equal(detection.detect(0, batch, [true, false, true], now), 2);
  assert.equal(detection.detect(0, batch, [false, false, false], now), 0, "a replay judges nothing");
});
