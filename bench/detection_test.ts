import assert from "node:assert/strict";
import { runDetection } from "./detection.ts";

Deno.test("detection run: spikes become events, faulty sensors get incidents, ground truth is counted", () => {
  const r = runDetection({ sensors: 50, rate: 50, durationS: 180, seed: 3, stuck: 0.04, drift: 0.04, dropout: 0.04 });
  assert.equal(r.readings > 0 && r.spikes > 0, true);
  assert.ok(r.spikesWithEvent / r.spikes >= 0.99);
  assert.equal(r.faults.stuck.sensors, 2);
  assert.equal(r.faults.stuck.detected, 2);
  assert.equal(r.faults.dropout.detected, 2);
  assert.ok(r.faults.stuck.secondsToDetect.every((s) => s <= 60));
  assert.equal(r.falseIncidents, 0);
});
