import assert from "node:assert/strict";
import {
  decodeReading,
  DEFAULT_MAX_FUTURE_MS,
  loadReadingContract,
  MAX_FIELD_DEPTH,
  readingId,
  validateReading,
} from "./reading.ts";
import { parseSensorTypes, SensorTypesError } from "./sensor_types.ts";

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
const NOW = Date.parse("2026-11-23T10:00:01Z");
const now = () => NOW;

const enc = (v: unknown) => new TextEncoder().encode(typeof v === "string" ? v : JSON.stringify(v));

Deno.test("decodeReading accepts a valid reading and returns its event time and id", () => {
  const r = decodeReading(enc(good), { now });
  assert.ok(r.ok);
  assert.equal(r.eventTime, Date.parse(good.timestamp));
  assert.equal(r.reading.value, 21.5);
  assert.equal(r.reading.seq, 0);
  assert.equal(r.reading.extra, undefined, "no unknown fields, no extra");
  assert.equal(readingId(r.reading), `sensor_0001:${Date.parse(good.timestamp)}`);
  assert.equal(r.id, readingId(r.reading));
});

Deno.test("decodeReading rejects each kind of bad input with a reason", () => {
  const cases: [Uint8Array | null, string][] = [
    [null, "invalid_json"],
    [enc("{not json"), "invalid_json"],
    [new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), "invalid_utf8"],
    [new Uint8Array(1024 * 1024), "too_large"],
    [enc({ ...good, value: "21" }), "invalid_schema"],
    [enc({ ...good, value: null }), "invalid_schema"],
    [enc({ ...good, sensor_id: "" }), "invalid_schema"],
    [enc({ ...good, sensor_id: 17 }), "invalid_schema"],
    [enc({ ...good, sensor_type: "" }), "invalid_schema"],
    [enc({ ...good, location: "a/b" }), "invalid_schema"],
    [enc({ ...good, timestamp: "yesterday" }), "invalid_schema"],
    [enc({ ...good, timestamp: "2026-13-45T10:00:00Z" }), "invalid_schema"],
    [enc({ ...good, timestamp: "2026-02-30T10:00:00Z" }), "invalid_schema"],
    [enc({ ...good, timestamp: "2026-11-23T10:00:00" }), "invalid_schema"],
    [enc({ ...good, timestamp: "2026-11-23T10:00:00.0000000000Z" }), "invalid_schema"],
    [enc({ ...good, timestamp: 1764000000 }), "invalid_schema"],
    [enc({ ...good, timestamp: 1764000000000.5 }), "invalid_schema"],
    [enc({ ...good, seq: -1 }), "invalid_schema"],
    [enc({ ...good, seq: "x" }), "invalid_schema"],
    [enc({ ...good, metadata: null }), "invalid_schema"],
    [enc({ ...good, metadata: { battery_level: 101 } }), "invalid_schema"],
    [enc({ ...good, status: "weird" }), "invalid_schema"],
    [enc({ ...good, value: 80 }), "out_of_range"],
    [enc({ ...good, timestamp: "2026-11-23T12:00:00Z" }), "future_time"],
    [enc([good]), "invalid_schema"],
  ];
  for (const [bytes, reason] of cases) {
    const r = decodeReading(bytes, { now });
    assert.equal(r.ok, false, `expected rejection for ${bytes && new TextDecoder().decode(bytes.slice(0, 80))}`);
    if (!r.ok) {
      assert.equal(r.reason, reason, r.detail);
      assert.match(r.detail, /^[A-Z]/, "detail is a sentence");
    }
  }
});

Deno.test("validateReading names the missing field", () => {
  for (const field of ["sensor_id", "sensor_type", "location", "value", "timestamp"]) {
    const { [field]: _, ...rest } = good as Record<string, unknown>;
    const r = validateReading(rest, { now });
    assert.equal(r.ok, false, field);
    if (!r.ok) assert.match(r.detail, new RegExp(field), field);
  }
});

Deno.test("every timestamp form normalizes to the same UTC milliseconds", () => {
  const ms = Date.parse("2026-12-01T18:07:04.037Z");
  // [form, UTC ms, digits below the millisecond kept in the id and the normalized text]
  const forms: [string | number, number, string?][] = [
    ["2026-12-01T18:07:04.037Z", ms],
    ["2026-12-01T18:07:04.037+00:00", ms],
    ["2026-12-01T18:07:04.037040+00:00", ms, "04"], // Python datetime.now(timezone.utc).isoformat()
    ["2026-12-01T12:37:04.037-05:30", ms],
    ["2026-12-01T23:07:04.037+05:00", ms],
    ["2026-12-01T18:07:04.037040123Z", ms, "040123"], // 9 digits: ms truncated, the rest in the id
    ["2026-12-01T18:07:04.037000000Z", ms], // trailing zeros do not count
    ["2026-12-01T18:07:04Z", ms - 37], // no fraction
    ["2026-12-01T18:07:04.0Z", ms - 37],
    ["2026-12-01T18:07:04.03Z", ms - 7],
    ["2026-12-01T18:07:04.999999+00:00", ms - 37 + 999, "999"],
    ["2026-12-01T18:07:04.037-00:00", ms],
    ["2026-12-02T00:07:04.037+06:00", ms], // another calendar day
    [ms, ms], // epoch milliseconds
  ];
  const clock = () => ms + 1000;
  for (const [timestamp, want, sub] of forms) {
    const r = validateReading({ ...good, timestamp }, { now: clock });
    assert.ok(r.ok, `${timestamp}: ${!r.ok && r.detail}`);
    assert.equal(r.eventTime, want, String(timestamp));
    const iso = new Date(want).toISOString();
    const text = sub ? `${iso.slice(0, 23)}${sub.padEnd(sub.length <= 3 ? 3 : 6, "0")}Z` : iso;
    assert.equal(r.reading.timestamp, text, "timestamp is normalized to UTC");
    assert.equal(r.id, sub ? `sensor_0001:${want}.${sub}` : `sensor_0001:${want}`);
    assert.equal(readingId(r.reading), r.id, "the normalized reading has the same id");
  }
  // Leap days exist in leap years only.
  assert.ok(validateReading({ ...good, timestamp: "2024-02-29T00:00:00Z" }, { now: clock }).ok);
  assert.equal(validateReading({ ...good, timestamp: "2026-02-29T00:00:00Z" }, { now: clock }).ok, false);
});

Deno.test("event times too far ahead of the injected clock are refused; the limit is configurable", () => {
  const t = Date.parse(good.timestamp);
  const at = (offsetMs: number, maxFutureMs?: number) =>
    validateReading({ ...good, timestamp: t + offsetMs }, { now: () => t, maxFutureMs });
  assert.ok(at(DEFAULT_MAX_FUTURE_MS).ok, "exactly the default hour ahead is accepted");
  const r = at(DEFAULT_MAX_FUTURE_MS + 1);
  assert.equal(r.ok, false);
  if (!r.ok) {
    assert.equal(r.reason, "future_time");
    assert.match(r.detail, /ahead of the processor's clock \(at most 3600 s allowed\)/);
  }
  assert.ok(at(-86_400_000).ok, "past times are the processor's lateness to judge, not the contract's");
  assert.equal(at(1, 0).ok, false, "maxFutureMs 0: nothing ahead of the clock");
  assert.ok(at(5 * 3_600_000, 6 * 3_600_000).ok);
});

Deno.test("seq, status and metadata are optional; a minimal reading decodes", () => {
  const r = validateReading({
    sensor_id: "lab-7",
    sensor_type: "temperature",
    value: 19,
    location: "office-main",
    timestamp: good.timestamp,
  }, { now });
  assert.ok(r.ok, !r.ok ? r.detail : "");
  assert.equal(r.reading.seq, undefined);
  assert.equal(r.reading.status, undefined);
  assert.equal(r.reading.metadata, undefined);
  assert.deepEqual(Object.keys(r.reading).sort(), ["location", "sensor_id", "sensor_type", "timestamp", "value"]);
});

Deno.test("unknown fields are kept: top-level ones under extra, metadata ones in metadata", () => {
  const r = validateReading({
    ...good,
    metadata: { sensor_model: "MODEL_03", firmware: "1.4.2", calib: { offset: 0.1 } },
    rssi: -71,
    gateway: { id: "gw-2", hops: [1, 2] },
  }, { now });
  assert.ok(r.ok, !r.ok ? r.detail : "");
  assert.deepEqual(r.reading.extra, { rssi: -71, gateway: { id: "gw-2", hops: [1, 2] } });
  assert.deepEqual(r.reading.metadata, { sensor_model: "MODEL_03", firmware: "1.4.2", calib: { offset: 0.1 } });
  const proto = validateReading(
    JSON.parse(`{"sensor_id":"s","sensor_type":"t","value":1,"location":"l",
    "timestamp":${NOW},"__proto__":{"polluted":true}}`),
    { now },
  );
  assert.ok(proto.ok);
  assert.deepEqual(Object.keys(proto.reading.extra!), ["__proto__"], "kept as a plain field");
  assert.equal(Object.getPrototypeOf(proto.reading.extra), Object.prototype);
});

Deno.test("field names MongoDB cannot store and too deep nesting are refused", () => {
  const deep = (n: number): unknown => n === 0 ? 1 : { d: deep(n - 1) };
  const cases: Record<string, unknown>[] = [
    { ...good, $where: 1 },
    { ...good, "a.b": 1 },
    { ...good, x: { "": 1 } },
    { ...good, x: [{ $set: 1 }] },
    { ...good, metadata: { "fw.version": "1" } },
    { ...good, x: deep(MAX_FIELD_DEPTH) },
  ];
  for (const c of cases) {
    const r = validateReading(c, { now });
    assert.equal(r.ok, false, JSON.stringify(c).slice(-60));
    if (!r.ok) assert.equal(r.reason, "invalid_schema");
  }
  assert.ok(validateReading({ ...good, x: deep(MAX_FIELD_DEPTH - 1) }, { now }).ok);
});

Deno.test("types and locations are open; a known type's physical range still holds", () => {
  const co2 = { ...good, sensor_type: "co2", location: "room 12", value: 612, metadata: { sensor_model: "MODEL_03" } };
  const r = validateReading(co2, { now });
  assert.ok(r.ok, !r.ok ? r.detail : "");
  assert.equal(r.reading.sensor_type, "co2");
  assert.equal(r.reading.location, "room 12");
  assert.ok(validateReading({ ...co2, value: -1e9 }, { now }).ok, "an undescribed type has no range");

  const types = parseSensorTypes('{"types": {"co2": {"unit": "ppm", "min": 0, "max": 10000}}}');
  const out = validateReading({ ...co2, value: 20_000 }, { now, types });
  assert.equal(out.ok, false);
  if (!out.ok) {
    assert.equal(out.reason, "out_of_range");
    assert.equal(out.detail, "Value 20000 is outside the physical range of co2 (0 to 10000 ppm)");
  }
  const temp = validateReading({ ...good, value: -21 }, { now, types });
  assert.equal(!temp.ok && temp.reason, "out_of_range", "the built-in ranges stay with a types file");
});

Deno.test("readingId: sensor id and UTC time (with any digits below the ms), whatever form the time takes", () => {
  const ms = Date.parse("2026-12-01T18:07:04.037Z");
  assert.equal(readingId({ sensor_id: "s1", timestamp: "2026-12-01T18:07:04.037040+00:00" }), `s1:${ms}.04`);
  assert.equal(readingId({ sensor_id: "s1", timestamp: "2026-12-01T18:07:04.037000+00:00" }), `s1:${ms}`);
  assert.equal(readingId({ sensor_id: "s1", timestamp: "2026-12-01T13:07:04.037-05:00" }), `s1:${ms}`);
  assert.equal(readingId({ sensor_id: "s1", timestamp: ms }), `s1:${ms}`);
  assert.equal(readingId({ sensor_id: "s1", timestamp: new Date(ms) }), `s1:${ms}`);
  // A resend is the same reading; the same sensor one millisecond later is another.
  const a = decodeReading(enc({ ...good, seq: 5 }), { now });
  const b = decodeReading(enc({ ...good, seq: 0 }), { now }); // a restarted producer: seq back at 0
  const c = decodeReading(enc({ ...good, timestamp: "2026-11-23T10:00:00.001Z" }), { now });
  assert.ok(a.ok && b.ok && c.ok);
  assert.equal(a.id, b.id, "the id does not depend on seq");
  assert.notEqual(a.id, c.id);
});

Deno.test("loadReadingContract reads READING_MAX_FUTURE_MS and SENSOR_TYPES_FILE", async () => {
  const d = loadReadingContract({});
  assert.equal(d.maxFutureMs, DEFAULT_MAX_FUTURE_MS);
  assert.equal(d.types.describe("co2"), undefined);
  assert.throws(
    () => loadReadingContract({ READING_MAX_FUTURE_MS: "soon" }),
    /READING_MAX_FUTURE_MS must be an integer/,
  );

  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/types.json`;
    await Deno.writeTextFile(file, '{"types": {"co2": {"unit": "ppm", "normal_min": 400, "normal_max": 1000}}}');
    const c = loadReadingContract({ SENSOR_TYPES_FILE: file, READING_MAX_FUTURE_MS: "60000" });
    assert.equal(c.maxFutureMs, 60_000);
    assert.deepEqual(c.types.describe("co2")?.band, { min: 400, max: 1000 });
    assert.throws(
      () => loadReadingContract({ SENSOR_TYPES_FILE: `${dir}/missing.json` }),
      (e: Error) =>
        e instanceof SensorTypesError && /^SENSOR_TYPES_FILE .*missing\.json: cannot be read/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
