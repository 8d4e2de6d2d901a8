import assert from "node:assert/strict";
import { LOCATIONS, SENSOR_RANGES, SENSOR_TYPES, sensorId, sensorProfile } from "./sensors.ts";

Deno.test("sensorProfile derives type and location deterministically", () => {
  assert.deepEqual(sensorProfile("sensor_0001"), sensorProfile(sensorId(1)));
  assert.equal(sensorProfile("sensor_0001").sensorType, "temperature");
  assert.equal(sensorProfile("sensor_0002").sensorType, "humidity");
  assert.equal(sensorProfile("sensor_0007").location, LOCATIONS[1]);
});

Deno.test("a fleet of 72 sensors covers every type at every location", () => {
  const seen = new Set<string>();
  for (let i = 1; i <= 72; i++) {
    const p = sensorProfile(sensorId(i));
    seen.add(`${p.sensorType}/${p.location}`);
  }
  assert.equal(seen.size, SENSOR_TYPES.length * LOCATIONS.length);
});

Deno.test("sensorProfile rejects malformed ids", () => {
  assert.throws(() => sensorProfile("sensor_1"), RangeError);
  assert.throws(() => sensorProfile("temp_0001"), RangeError);
});

Deno.test("every range has its normal band inside its physical limits", () => {
  for (const t of SENSOR_TYPES) {
    const r = SENSOR_RANGES[t];
    assert.ok(r.min < r.normalMin && r.normalMin < r.normalMax && r.normalMax < r.max, t);
  }
});
