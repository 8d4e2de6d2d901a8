import assert from "node:assert/strict";
import { decodeReading, readingId, validateReading } from "./reading.ts";

const good = {
  sensor_id: "sensor_0001",
  sensor_type: "temperature",
  value: 21.5,
  location: "office-main",
  timestamp: "2026-11-23T10:00:00.000Z",
  status: "normal",
  seq: 0,
  metadata: { unit: "°C", sensor_model: "TMP117", battery_level: 90 },
};

const enc = (v: unknown) => new TextEncoder().encode(typeof v === "string" ? v : JSON.stringify(v));

Deno.test("decodeReading accepts a valid reading and returns its event time", () => {
  const r = decodeReading(enc(good));
  assert.ok(r.ok);
  assert.equal(r.eventTime, Date.parse(good.timestamp));
  assert.equal(r.reading.value, 21.5);
  assert.equal(readingId(r.reading), "sensor_0001:0");
});

Deno.test("decodeReading rejects each kind of bad input with a reason", () => {
  const cases: [Uint8Array | null, string][] = [
    [null, "invalid_json"],
    [enc("{not json"), "invalid_json"],
    [new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), "invalid_utf8"],
    [new Uint8Array(1024 * 1024), "too_large"],
    [enc({ ...good, value: "21" }), "invalid_schema"],
    [enc({ ...good, sensor_type: "radiation" }), "invalid_schema"],
    [enc({ ...good, location: "moon" }), "invalid_schema"],
    [enc({ ...good, timestamp: "yesterday" }), "invalid_schema"],
    [enc({ ...good, timestamp: "2026-13-45T10:00:00Z" }), "invalid_schema"],
    [enc({ ...good, seq: -1 }), "invalid_schema"],
    [enc({ ...good, metadata: null }), "invalid_schema"],
    [enc({ ...good, status: "weird" }), "invalid_schema"],
    [enc({ ...good, value: 80 }), "out_of_range"],
    [enc([good]), "invalid_schema"],
  ];
  for (const [bytes, reason] of cases) {
    const r = decodeReading(bytes);
    assert.equal(r.ok, false, `expected rejection for ${bytes && new TextDecoder().decode(bytes.slice(0, 60))}`);
    if (!r.ok) {
      assert.equal(r.reason, reason);
      assert.match(r.detail, /^[A-Z]/, "detail is a sentence");
    }
  }
});

Deno.test("validateReading names the missing field", () => {
  const { sensor_id: _, ...noId } = good;
  const r = validateReading(noId);
  assert.equal(r.ok, false);
  if (!r.ok) assert.match(r.detail, /sensor_id/);
});
