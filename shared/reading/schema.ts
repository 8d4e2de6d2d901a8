/**
 * The reading contract as a JSON Schema (draft 2020-12), built from the same
 * patterns and ranges as the validator. `docs/reading.schema.json` is its
 * published copy; `reading_schema_test.ts` keeps the two equal and checks
 * that the schema and `decodeReading` agree on a table of samples.
 */
import { FIELD_NAME_PATTERN, SENSOR_ID_PATTERN } from "../reading.ts";
import { BUILTIN_SENSOR_TYPES, type SensorTypes, VOCABULARY_PATTERN } from "../sensor_types.ts";
import { MAX_EPOCH_MS, MIN_EPOCH_MS, TIMESTAMP_PATTERN } from "./timestamp.ts";

/** The `$id` of the published schema. */
export const READING_SCHEMA_ID = "https://iot-pipeline.local/schemas/reading.schema.json";

/**
 * The JSON Schema of a reading, with a physical-range rule for each described
 * type of `types` (default: the built-in six). What it cannot say, the
 * validator adds: the 16 KiB size limit, the nesting limit, and the limit on
 * event times ahead of the clock.
 *
 * @example
 * ```ts
 * await Deno.writeTextFile("docs/reading.schema.json", JSON.stringify(readingJsonSchema(), null, 2) + "\n");
 * ```
 */
export function readingJsonSchema(types: SensorTypes = BUILTIN_SENSOR_TYPES): Record<string, unknown> {
  const vocabulary = { type: "string", pattern: VOCABULARY_PATTERN };
  const ranges = types.list().filter((t) => t.range).map((t) => ({
    if: { properties: { sensor_type: { const: t.type } }, required: ["sensor_type"] },
    then: {
      properties: { value: { type: "number", minimum: t.range!.min, maximum: t.range!.max } },
      $comment: `physical range of ${t.type}${t.unit ? ` in ${t.unit}` : ""}; outside it: dead letter out_of_range`,
    },
  }));
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $id: READING_SCHEMA_ID,
    title: "Sensor reading",
    description:
      "One message value on the sensor-data topic (UTF-8 JSON, at most 16 KiB; key: the sensor id). Also refused: event times more than READING_MAX_FUTURE_MS (1 h) ahead of the processor's clock, and objects nested deeper than 16 levels. Fields not named here are kept as sent.",
    type: "object",
    required: ["sensor_id", "sensor_type", "value", "location", "timestamp"],
    properties: {
      sensor_id: {
        description: "The device; part of the reading's id (sensor_id:event_time_ms).",
        type: "string",
        pattern: SENSOR_ID_PATTERN,
      },
      sensor_type: {
        ...vocabulary,
        description: "Open: a built-in type (ranges below), a type of SENSOR_TYPES_FILE, or any other name.",
      },
      value: { type: "number" },
      location: { ...vocabulary, description: "Open: any location name." },
      timestamp: {
        description:
          "Event time: RFC 3339 with Z or a numeric offset and 0 to 9 fractional digits (truncated to the millisecond), or integer epoch milliseconds.",
        anyOf: [
          { type: "string", pattern: TIMESTAMP_PATTERN, format: "date-time" },
          { type: "integer", minimum: MIN_EPOCH_MS, maximum: MAX_EPOCH_MS },
        ],
      },
      status: { enum: ["normal", "anomaly"] },
      seq: {
        description: "Per-sensor sequence number, for gap and reorder detection only.",
        type: "integer",
        minimum: 0,
        maximum: Number.MAX_SAFE_INTEGER,
      },
      metadata: {
        type: "object",
        properties: {
          unit: { type: "string" },
          sensor_model: { type: "string" },
          battery_level: { type: "number", minimum: 0, maximum: 100 },
        },
        propertyNames: { $ref: "#/$defs/fieldName" },
        additionalProperties: { $ref: "#/$defs/storable" },
      },
    },
    propertyNames: { $ref: "#/$defs/fieldName" },
    additionalProperties: { $ref: "#/$defs/storable" },
    allOf: ranges,
    $defs: {
      fieldName: {
        description: "A name MongoDB can store: not empty, no leading $, no . or NUL.",
        type: "string",
        pattern: FIELD_NAME_PATTERN,
      },
      storable: {
        propertyNames: { $ref: "#/$defs/fieldName" },
        additionalProperties: { $ref: "#/$defs/storable" },
        items: { $ref: "#/$defs/storable" },
      },
    },
  };
}

/** The published copy, relative to the repository root. */
export const READING_SCHEMA_FILE = new URL("../../docs/reading.schema.json", import.meta.url);

if (import.meta.main) {
  // deno run --allow-write shared/reading/schema.ts  rewrites the published copy.
  await Deno.writeTextFile(READING_SCHEMA_FILE, JSON.stringify(readingJsonSchema(), null, 2) + "\n");
  console.log(`wrote ${READING_SCHEMA_FILE.pathname}`);
}
