import assert from "node:assert/strict";
import type { SensorReading } from "@iot/shared";
import type { Valid } from "./decode.ts";
import { SequenceStage } from "./sequence.ts";

let offset = 0;
function v(sensor: string, seq: number | undefined, o: { replay?: boolean; late?: boolean } = {}): Valid {
  const t = Date.UTC(2026, 0, 1) + offset * 1000;
  const reading: SensorReading = {
    sensor_id: sensor,
    sensor_type: "co2",
    value: 600,
    location: "lab-7",
    timestamp: new Date(t).toISOString(),
  };
  if (seq !== undefined) reading.seq = seq;
  return {
    reading,
    eventTime: t,
    offset: offset++,
    late: o.late ?? false,
    replay: o.replay ?? false,
    id: `${sensor}:${t}`,
  };
}

Deno.test("sequence stage: gaps, reorders, repeats and restarts per sensor, counted per batch and in total", () => {
  let now = 0;
  const stage = new SequenceStage({ clock: () => now });
  const first = stage.observe(0, [v("a", 0), v("a", 1), v("b", 10), v("a", 4), v("a", 3)]);
  assert.deepEqual(first, { gap: 1, missing: 2, reorder: 1, repeat: 0, restart: 0 });
  now += 1000;
  const second = stage.observe(0, [v("a", 4), v("b", 11), v("a", 0), v("a", 1), v("b", 11, { late: true })]);
  assert.deepEqual(second, { gap: 0, missing: 0, reorder: 0, repeat: 2, restart: 1 }, "late readings count too");
  assert.deepEqual(stage.totals(), { gap: 1, missing: 2, reorder: 1, repeat: 2, restart: 1 });
  assert.equal(stage.size, 2);
});

Deno.test("sequence stage: readings without seq and records fetched again are not observed", () => {
  const stage = new SequenceStage({ clock: () => 0 });
  const c = stage.observe(1, [v("a", undefined), v("a", undefined), v("b", 5), v("b", 5, { replay: true })]);
  assert.deepEqual(c, { gap: 0, missing: 0, reorder: 0, repeat: 0, restart: 0 });
  assert.equal(stage.size, 1, "only the sensor that sends seq is tracked");
});

Deno.test("sequence stage: sensors quiet for the forget time, and those of revoked partitions, start afresh", () => {
  let now = 0;
  const stage = new SequenceStage({ clock: () => now, forgetAfterMs: 60_000 });
  stage.observe(0, [v("a", 100)]);
  stage.observe(1, [v("b", 100)]);
  now = 30_000;
  stage.observe(1, [v("b", 101)]);
  now = 70_000;
  // "a" was quiet for 70 s: forgotten, so its seq 0 is a first, not a restart; "b" (40 s) is kept.
  assert.deepEqual(stage.observe(0, [v("a", 0)]), { gap: 0, missing: 0, reorder: 0, repeat: 0, restart: 0 });
  assert.deepEqual(stage.observe(1, [v("b", 0)]), { gap: 0, missing: 0, reorder: 0, repeat: 0, restart: 1 });
  stage.retain(new Set([0]));
  assert.equal(stage.size, 1, "the sensors of partition 1 are forgotten");
  assert.deepEqual(stage.observe(0, [v("b", 50)]), { gap: 0, missing: 0, reorder: 0, repeat: 0, restart: 0 });
});
