import assert from "node:assert/strict";
import { ParamError, parseParams, parseTime } from "./params.ts";

const specs = {
  limit: { type: "int", min: 1, max: 100, default: 10 },
  state: { type: "enum", values: ["firing", "resolved"] },
  type: { type: "sensorType" },
  since: { type: "time" },
} as const;

Deno.test("valid parameters parse, defaults apply", () => {
  const p = parseParams({ state: ["firing"], type: ["humidity"], since: ["1700000000000"] }, specs);
  assert.deepEqual(p, { limit: 10, state: "firing", type: "humidity", since: new Date(1700000000000) });
  assert.equal(parseParams({ limit: ["100"] }, specs).limit, 100);
});

Deno.test("unknown, repeated, out-of-range and malformed parameters are refused", () => {
  for (
    const q of <Record<string, string[]>[]> [
      { nope: ["1"] },
      { limit: ["0"] },
      { limit: ["101"] },
      { limit: ["1.5"] },
      { limit: ["1", "2"] },
      { state: ["open"] },
      { type: ["<script>"] },
      { since: ["yesterday"] },
      { since: ["99999999999999999"] },
    ]
  ) {
    assert.throws(() => parseParams(q, specs), ParamError, JSON.stringify(q));
  }
});

Deno.test("type and location: any name of the shared vocabulary pattern; malformed ones are refused", () => {
  const filters = { type: { type: "sensorType" }, location: { type: "location" } } as const;
  assert.deepEqual(parseParams({ type: ["co2"], location: ["lab-7"] }, filters), { type: "co2", location: "lab-7" });
  assert.deepEqual(parseParams({ type: ["plasma"], location: ["room 12"] }, filters), {
    type: "plasma",
    location: "room 12",
  });
  for (const bad of ["$x", " lab", "lab ", "a/b", "x".repeat(65), "x".repeat(201)]) {
    assert.throws(() => parseParams({ location: [bad] }, filters), ParamError, bad);
    assert.throws(
      () => parseParams({ type: [bad] }, filters),
      /Parameter type must be a sensor type name|too long/,
      bad,
    );
  }
});

Deno.test("times are epoch milliseconds or ISO 8601", () => {
  assert.equal(parseTime("2026-01-02T03:04:05Z").toISOString(), "2026-01-02T03:04:05.000Z");
  assert.throws(() => parseTime("2026-01-02"), ParamError);
});
