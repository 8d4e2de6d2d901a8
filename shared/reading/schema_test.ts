import assert from "node:assert/strict";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { decodeReading } from "../reading.ts";
import { READING_SCHEMA_FILE, readingJsonSchema } from "./schema.ts";

const published = JSON.parse(await Deno.readTextFile(READING_SCHEMA_FILE));

Deno.test("docs/reading.schema.json is the schema the code describes (regenerate: deno run -W shared/reading/schema.ts)", () => {
  assert.deepEqual(published, readingJsonSchema());
});

const base = {
  sensor_id: "sensor_0001",
  sensor_type: "temperature",
  value: 21.5,
  location: "office-main",
  timestamp: "2026-12-01T18:07:04.037040+00:00",
};
const deep = (n: number): unknown => n === 0 ? 1 : { d: deep(n - 1) };

/** Samples, as message text, and whether the contract accepts them. */
const SAMPLES: [string, boolean, unknown][] = [
  ["minimal", true, base],
  ["full reading of our producer", true, {
    ...base,
    timestamp: "2026-12-01T18:07:04.037Z",
    status: "anomaly",
    seq: 12,
    metadata: { unit: "°C", sensor_model: "TMP117", battery_level: 87.5 },
  }],
  ["reference producer (Python isoformat, MODEL_03, no seq)", true, {
    ...base,
    metadata: { sensor_model: "MODEL_03", battery_level: 64 },
  }],
  ["Z, no fraction", true, { ...base, timestamp: "2026-12-01T18:07:04Z" }],
  ["3 fractional digits", true, { ...base, timestamp: "2026-12-01T18:07:04.123Z" }],
  ["9 fractional digits", true, { ...base, timestamp: "2026-12-01T18:07:04.123456789Z" }],
  ["-05:30", true, { ...base, timestamp: "2026-12-01T12:37:04.5-05:30" }],
  ["epoch ms", true, { ...base, timestamp: 1796148424037 }],
  ["epoch ms written 1.796148424037e12", true, { ...base, timestamp: 1.796148424037e12 }],
  ["leap day", true, { ...base, timestamp: "2024-02-29T00:00:00Z" }],
  ["unknown type and location", true, { ...base, sensor_type: "co2", location: "room 12", value: 1e6 }],
  ["unknown fields kept", true, { ...base, rssi: -70, gw: { id: "g1", path: [1, 2, { hop: 3 }] }, tags: ["a"] }],
  ["metadata with more fields", true, { ...base, metadata: { firmware: "1.2", extra: { a: null } } }],
  ["value on the range edge", true, { ...base, value: 50 }],
  ["seq 0", true, { ...base, seq: 0 }],
  ["status normal", true, { ...base, status: "normal" }],
  ["not an object", false, [base]],
  ["a string", false, "reading"],
  ["null", false, null],
  ["no sensor_id", false, { ...base, sensor_id: undefined }],
  ["empty sensor_id", false, { ...base, sensor_id: "" }],
  ["sensor_id with a slash", false, { ...base, sensor_id: "a/b" }],
  ["sensor_id too long", false, { ...base, sensor_id: "x".repeat(65) }],
  ["no sensor_type", false, { ...base, sensor_type: undefined }],
  ["numeric sensor_type", false, { ...base, sensor_type: 3 }],
  ["location with a pipe", false, { ...base, location: "a|b" }],
  ["location with a leading space", false, { ...base, location: " hall" }],
  ["no value", false, { ...base, value: undefined }],
  ["value as text", false, { ...base, value: "21.5" }],
  ["value null", false, { ...base, value: null }],
  ["value true", false, { ...base, value: true }],
  ["temperature above its range", false, { ...base, value: 50.01 }],
  ["pressure below its range", false, { ...base, sensor_type: "pressure", value: 949 }],
  ["no timestamp", false, { ...base, timestamp: undefined }],
  ["timestamp without zone", false, { ...base, timestamp: "2026-12-01T18:07:04.037" }],
  ["timestamp with a space", false, { ...base, timestamp: "2026-12-01 18:07:04Z" }],
  ["timestamp lower-case z", false, { ...base, timestamp: "2026-12-01T18:07:04z" }],
  ["timestamp +0000", false, { ...base, timestamp: "2026-12-01T18:07:04+0000" }],
  ["timestamp 10 fractional digits", false, { ...base, timestamp: "2026-12-01T18:07:04.1234567890Z" }],
  ["timestamp date only", false, { ...base, timestamp: "2026-12-01" }],
  ["timestamp February 30", false, { ...base, timestamp: "2026-02-30T00:00:00Z" }],
  ["timestamp not a leap year", false, { ...base, timestamp: "2100-02-29T00:00:00Z" }],
  ["timestamp hour 24", false, { ...base, timestamp: "2026-12-01T24:00:00Z" }],
  ["timestamp leap second", false, { ...base, timestamp: "2016-12-31T23:59:60Z" }],
  ["timestamp offset +24:00", false, { ...base, timestamp: "2026-12-01T18:07:04+24:00" }],
  ["timestamp epoch seconds", false, { ...base, timestamp: 1796148424 }],
  ["timestamp fractional ms", false, { ...base, timestamp: 1796148424037.5 }],
  ["timestamp negative", false, { ...base, timestamp: -1 }],
  ["timestamp numeric string", false, { ...base, timestamp: "1796148424037" }],
  ["status unknown", false, { ...base, status: "ok" }],
  ["status null", false, { ...base, status: null }],
  ["seq negative", false, { ...base, seq: -1 }],
  ["seq fractional", false, { ...base, seq: 1.5 }],
  ["seq text", false, { ...base, seq: "1" }],
  ["metadata null", false, { ...base, metadata: null }],
  ["metadata array", false, { ...base, metadata: [] }],
  ["metadata.sensor_model number", false, { ...base, metadata: { sensor_model: 3 } }],
  ["metadata.unit null", false, { ...base, metadata: { unit: null } }],
  ["battery above 100", false, { ...base, metadata: { battery_level: 100.5 } }],
  ["battery as text", false, { ...base, metadata: { battery_level: "90" } }],
  ["field name with $", false, { ...base, $set: 1 }],
  ["field name with a dot", false, { ...base, "a.b": 1 }],
  ["empty field name", false, { ...base, "": 1 }],
  ["nested field name with $", false, { ...base, x: { y: [{ $gt: 1 }] } }],
  ["metadata field name with a dot", false, { ...base, metadata: { "fw.v": 1 } }],
  ["deep but within the limit", true, { ...base, x: deep(15) }],
];

Deno.test("the JSON Schema (ajv, draft 2020-12) and decodeReading agree on every sample", () => {
  // strictTypes off: `storable` applies to values of any type on purpose.
  const ajv = new Ajv2020({ strict: true, strictTypes: false, strictNumbers: true, allErrors: true });
  addFormats.default(ajv);
  const validate = ajv.compile(published);
  const now = () => Date.parse("2026-12-01T18:10:00Z");
  for (const [name, accepted, data] of SAMPLES) {
    const text = JSON.stringify(data);
    const parsed = JSON.parse(text); // what a consumer sees (undefined fields dropped)
    const ours = decodeReading(new TextEncoder().encode(text), { now });
    const theirs = validate(parsed);
    assert.equal(
      ours.ok,
      accepted,
      `${name}: decodeReading ${ours.ok ? "accepted" : `refused (${!ours.ok && ours.detail})`}`,
    );
    assert.equal(
      theirs,
      accepted,
      `${name}: the schema ${theirs ? "accepted" : `refused (${ajv.errorsText(validate.errors)})`}`,
    );
  }
});

Deno.test("the limits the schema states in words: size, nesting and future times", () => {
  const now = () => Date.parse("2026-12-01T18:10:00Z");
  const check = (data: unknown) => decodeReading(new TextEncoder().encode(JSON.stringify(data)), { now });
  assert.equal(check({ ...base, pad: "x".repeat(17_000) }).ok, false);
  assert.equal(check({ ...base, x: deep(16) }).ok, false);
  assert.equal(check({ ...base, timestamp: "2026-12-01T19:10:00.001Z" }).ok, false);
  assert.ok(check({ ...base, timestamp: "2026-12-01T19:10:00Z" }).ok);
  assert.match(published.description, /16 KiB/);
  assert.match(published.description, /16 levels/);
  assert.match(published.description, /READING_MAX_FUTURE_MS/);
});
