import assert from "node:assert/strict";
import { ConfigError } from "./errors.ts";
import {
  BUILTIN_SENSOR_TYPES,
  describeType,
  isVocabularyName,
  parseSensorTypes,
  SensorTypes,
  SensorTypesError,
} from "./sensor_types.ts";
import { SENSOR_RANGES, SENSOR_TYPES } from "./sensors.ts";

Deno.test("the six built-in types keep their ranges and bands", () => {
  for (const t of SENSOR_TYPES) {
    const d = describeType(t);
    const r = SENSOR_RANGES[t];
    assert.deepEqual(d, {
      type: t,
      unit: r.unit,
      range: { min: r.min, max: r.max },
      band: { min: r.normalMin, max: r.normalMax },
      builtin: true,
    });
  }
  assert.equal(describeType("co2"), undefined, "a type nobody described");
  assert.equal(BUILTIN_SENSOR_TYPES.list().length, 6);
});

Deno.test("a types file adds types; every field of an entry is optional", () => {
  const types = parseSensorTypes(JSON.stringify({
    types: {
      co2: { unit: "ppm", min: 0, max: 10000, normal_min: 400, normal_max: 1000 },
      "soil moisture": { unit: "%", min: 0, max: 100 },
      noise: {},
    },
  }));
  assert.deepEqual(describeType("co2", types), {
    type: "co2",
    unit: "ppm",
    range: { min: 0, max: 10000 },
    band: { min: 400, max: 1000 },
    builtin: false,
  });
  assert.deepEqual(describeType("soil moisture", types)?.band, undefined);
  assert.deepEqual(describeType("noise", types), {
    type: "noise",
    unit: "",
    range: undefined,
    band: undefined,
    builtin: false,
  });
  assert.equal(describeType("temperature", types)?.builtin, true);
  assert.deepEqual(types.list().map((t) => t.type), [...SENSOR_TYPES, "co2", "soil moisture", "noise"]);
});

Deno.test("an invalid types file fails with one line naming the source and the entry", () => {
  const cases: [string, RegExp][] = [
    ["{", /^f\.json: not JSON \(/],
    ["[]", /^f\.json: must be an object \{"types": \{\.\.\.\}\}$/],
    ['{"typez": {}}', /^f\.json: unknown key "typez"/],
    ['{"types": []}', /^f\.json: "types" must be an object/],
    ['{"types": {"a/b": {}}}', /^f\.json: type "a\/b": name must be/],
    ['{"types": {"temperature": {"min": 0, "max": 1}}}', /^f\.json: type "temperature" is built in/],
    ['{"types": {"co2": 5}}', /^f\.json: type "co2" must be an object$/],
    ['{"types": {"co2": {"maximum": 5}}}', /^f\.json: type "co2": unknown field "maximum" \(expected unit, min, max/],
    ['{"types": {"co2": {"unit": 5}}}', /^f\.json: type "co2": unit must be a string$/],
    ['{"types": {"co2": {"min": 0}}}', /^f\.json: type "co2": min and max must both be given, as numbers$/],
    ['{"types": {"co2": {"min": "0", "max": 1}}}', /min and max must both be given/],
    ['{"types": {"co2": {"min": 5, "max": 5}}}', /^f\.json: type "co2": min \(5\) must be less than max \(5\)$/],
    ['{"types": {"co2": {"normal_min": 9, "normal_max": 1}}}', /normal_min \(9\) must be less than normal_max \(1\)/],
    [
      '{"types": {"co2": {"min": 0, "max": 10, "normal_min": 5, "normal_max": 11}}}',
      /^f\.json: type "co2": the normal band 5 to 11 must lie inside min 0 to max 10$/,
    ],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parseSensorTypes(text, "f.json"), (e: Error) => {
      assert.ok(e instanceof SensorTypesError && e instanceof ConfigError, text);
      assert.match(e.message, message, text);
      assert.ok(!e.message.includes("\n"), "one line");
      return true;
    });
  }
  assert.throws(() => new SensorTypes([{ type: "voltage", unit: "V", builtin: false }]), SensorTypesError);
});

Deno.test("type and location names: 1 to 64 of letters, digits, inner spaces and _.:-", () => {
  for (const ok of ["co2", "CO2", "room 12", "factory-floor-a1", "a", "x".repeat(64), "lab:3.b_c"]) {
    assert.ok(isVocabularyName(ok), ok);
  }
  for (const bad of ["", " co2", "co2 ", "a/b", "a|b", "ä", "x".repeat(65), 5, null]) {
    assert.equal(isVocabularyName(bad), false, String(bad));
  }
});
