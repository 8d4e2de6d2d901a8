import assert from "node:assert/strict";
import { deadLetterDoc, deadLetterMessage, type Rejected } from "./dlq.ts";

const rejected: Rejected = {
  topic: "sensor-data",
  partition: 2,
  offset: "1234",
  key: new TextEncoder().encode("sensor_0001"),
  value: new Uint8Array([0x7b, 0xff, 0x7d]),
  reason: "invalid_utf8",
  detail: "Message value is not valid UTF-8",
};

Deno.test("the DLQ message keeps the original bytes and carries reason and origin headers", () => {
  const at = new Date("2026-01-01T00:00:00Z");
  const m = deadLetterMessage(rejected, at);
  assert.deepEqual([...m.value!], [0x7b, 0xff, 0x7d]);
  assert.equal(m.key!.toString(), "sensor_0001");
  assert.deepEqual(m.headers, {
    reason: "invalid_utf8",
    detail: "Message value is not valid UTF-8",
    "source.topic": "sensor-data",
    "source.partition": "2",
    "source.offset": "1234",
    failed_at: "2026-01-01T00:00:00.000Z",
  });
  assert.equal(deadLetterMessage({ ...rejected, key: null, value: null }, at).value, null);
});

Deno.test("the dead_letters document has a deterministic id and a short preview", () => {
  const d = deadLetterDoc({ ...rejected, value: new TextEncoder().encode("x".repeat(5000)) }, new Date(0));
  assert.equal(d._id, "sensor-data:2:1234");
  assert.equal(d.size, 5000);
  assert.equal(d.preview.length, 200);
  assert.deepEqual(d.origin, { topic: "sensor-data", partition: 2, offset: "1234", key: "sensor_0001" });
});
