import assert from "node:assert/strict";
import { decodeReading, sensorId, sensorProfile } from "@iot/shared";
import { poisonRecord } from "./pipeline.ts";

Deno.test("every kind of the poison backlog is refused by the reading contract, each for its own reason", () => {
  const p = sensorProfile(sensorId(1));
  const valid = JSON.stringify({
    sensor_id: p.sensorId,
    sensor_type: p.sensorType,
    value: 21.5,
    location: p.location,
    timestamp: new Date().toISOString(),
    status: "normal",
    seq: 1,
  });
  assert.ok(decodeReading(new TextEncoder().encode(valid)).ok, "the template itself is valid");
  const reasons = [0, 1, 2, 3, 4].map((i) => {
    const res = decodeReading(poisonRecord(i, valid));
    assert.equal(res.ok, false, `kind ${i} is refused`);
    return res.ok ? "" : res.reason;
  });
  assert.deepEqual(reasons, ["invalid_json", "invalid_utf8", "invalid_schema", "out_of_range", "invalid_schema"]);
});
