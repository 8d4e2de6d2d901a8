/** Strict query-parameter validation: unknown or malformed parameters are a 400 with a JSON error. */
import { isVocabularyName, SENSOR_ID_PATTERN } from "@iot/shared";
import { HttpError } from "../http_error.ts";

/** A query parameter is unknown or malformed (400). */
export class ParamError extends HttpError {
  override name = "ParamError";
  constructor(message: string) {
    super(400, message);
  }
}

/** How one parameter is read. */
export type ParamSpec =
  | { type: "int"; min: number; max: number; default?: number }
  | { type: "enum"; values: readonly string[]; default?: string }
  /** Any name matching the shared vocabulary pattern (types are open: unknown ones match nothing). */
  | { type: "sensorType" }
  /** Any name matching the shared vocabulary pattern. */
  | { type: "location" }
  | { type: "sensorId" }
  | { type: "time" }
  | { type: "bool" };

type ParamValue<S extends ParamSpec> = S extends { type: "int" } ? number
  : S extends { type: "time" } ? Date
  : S extends { type: "bool" } ? boolean
  : string;

/** Parsed parameters: those with a default are always present. */
export type Params<T extends Record<string, ParamSpec>> = {
  [K in keyof T]: T[K] extends { default: unknown } ? ParamValue<T[K]> : ParamValue<T[K]> | undefined;
};

/** Sensor ids of the reading contract (`SENSOR_ID_PATTERN`: any device's id, not only `sensor_0001`). */
export const SENSOR_ID_RE: RegExp = new RegExp(SENSOR_ID_PATTERN);

/** The message of a malformed sensor id. */
export const SENSOR_ID_RULE = "a sensor id of 1 to 64 letters, digits or _.:-";

/** The type and location filters of the overview, its tiles and their APIs. */
export const FILTER_PARAMS = { type: { type: "sensorType" }, location: { type: "location" } } as const;

/** The rules an incident can hold (sensor and website rules). */
export const INCIDENT_RULES = [
  "threshold",
  "zscore",
  "rate_of_change",
  "stuck",
  "silence",
  "WEBSITE_DOWN",
  "HIGH_RESPONSE_TIME",
  "LOW_UPTIME",
] as const;

/** The detectors that judge readings (the `alert_type` of anomaly events). */
export const DETECTORS = ["threshold", "zscore", "rate_of_change", "stuck"] as const;

/** An alert id from the path (`/api/alerts/:id/ack`), bounded in length. */
export function alertIdParam(params: Record<string, string>): string {
  const id = params.id ?? "";
  if (id.length === 0 || id.length > 200) throw new ParamError("Alert id must be 1 to 200 characters");
  return id;
}

/** Earliest and latest accepted times (guards against absurd ranges). */
const MIN_TIME = Date.UTC(2000, 0, 1);
const MAX_TIME = Date.UTC(2100, 0, 1);

/** Parses a time given as epoch milliseconds or an ISO 8601 string. */
export function parseTime(raw: string, name = "time"): Date {
  const n = /^\d{1,15}$/.test(raw)
    ? Number(raw)
    : /^\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:\d{2})$/.test(raw)
    ? Date.parse(raw)
    : NaN;
  if (!Number.isFinite(n) || n < MIN_TIME || n > MAX_TIME) {
    throw new ParamError(`Parameter ${name} must be epoch milliseconds or an ISO 8601 time, got "${raw}"`);
  }
  return new Date(n);
}

/** Validates the query of a request against the specs. */
export function parseParams<T extends Record<string, ParamSpec>>(
  query: Record<string, string[]>,
  specs: T,
): Params<T> {
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(query)) {
    if (!(name in specs)) {
      throw new ParamError(`Unknown parameter ${name} (allowed: ${Object.keys(specs).join(", ") || "none"})`);
    }
    if (query[name].length > 1) throw new ParamError(`Parameter ${name} given more than once`);
  }
  for (const [name, spec] of Object.entries(specs)) {
    const raw = query[name]?.[0];
    if (raw === undefined || raw === "") {
      if ("default" in spec && spec.default !== undefined) out[name] = spec.default;
      continue;
    }
    if (raw.length > 200) throw new ParamError(`Parameter ${name} is too long`);
    out[name] = parseOne(name, spec, raw);
  }
  return out as Params<T>;
}

function parseOne(name: string, spec: ParamSpec, raw: string): unknown {
  switch (spec.type) {
    case "int": {
      const n = Number(raw);
      if (!/^-?\d+$/.test(raw) || n < spec.min || n > spec.max) {
        throw new ParamError(`Parameter ${name} must be an integer from ${spec.min} to ${spec.max}, got "${raw}"`);
      }
      return n;
    }
    case "enum":
      if (!spec.values.includes(raw)) {
        throw new ParamError(`Parameter ${name} must be one of ${spec.values.join(", ")}, got "${raw}"`);
      }
      return raw;
    case "sensorType":
    case "location":
      if (!isVocabularyName(raw)) {
        throw new ParamError(
          `Parameter ${name} must be a ${spec.type === "location" ? "location" : "sensor type"} name of 1 to 64 ` +
            `letters, digits, spaces or _.:- (no leading or trailing space), got "${raw}"`,
        );
      }
      return raw;
    case "sensorId":
      if (!SENSOR_ID_RE.test(raw)) throw new ParamError(`Parameter ${name} must be ${SENSOR_ID_RULE}`);
      return raw;
    case "time":
      return parseTime(raw, name);
    case "bool":
      if (raw !== "true" && raw !== "false") throw new ParamError(`Parameter ${name} must be true or false`);
      return raw === "true";
  }
}
