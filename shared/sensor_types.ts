/**
 * The open vocabulary of sensor types: the six built-in types with their
 * physical ranges and normal bands, more types described in a JSON file
 * (`SENSOR_TYPES_FILE`), and the lookup the validator and the detectors use.
 * A type nobody described is still a valid type: it just has no range or band.
 */
import { ConfigError } from "./errors.ts";
import { SENSOR_RANGES, SENSOR_TYPES } from "./sensors.ts";

/** A closed interval of values. */
export interface ValueInterval {
  readonly min: number;
  readonly max: number;
}

/** What is known about one sensor type. */
export interface SensorTypeDescription {
  /** The type's name as it appears in `sensor_type`. */
  readonly type: string;
  /** Unit symbol, "" when not described. */
  readonly unit: string;
  /** Physically possible values; readings outside it are dead-lettered. */
  readonly range?: ValueInterval;
  /** Normal operating band, for the threshold detector. */
  readonly band?: ValueInterval;
  /** One of the six types the fleet simulates. */
  readonly builtin: boolean;
}

/** A sensor types file is unreadable or invalid; the message is one line naming the file and the entry. */
export class SensorTypesError extends ConfigError {
  override name = "SensorTypesError";
}

/**
 * The pattern of sensor types and locations (also in the published JSON Schema):
 * 1 to 64 letters, digits, spaces or `_.:-`, not starting or ending with a space.
 */
export const VOCABULARY_PATTERN = "^[A-Za-z0-9_.:-](?:[A-Za-z0-9 _.:-]{0,62}[A-Za-z0-9_.:-])?$";
const VOCABULARY_RE = new RegExp(VOCABULARY_PATTERN);

/** Whether a value can be a sensor type or a location name. */
export function isVocabularyName(value: unknown): value is string {
  return typeof value === "string" && VOCABULARY_RE.test(value);
}

/** The registry of described sensor types; look types up with `describe`. */
export class SensorTypes {
  readonly #byType: ReadonlyMap<string, SensorTypeDescription>;

  /** The built-in types plus `described` (which must not redefine a built-in type). */
  constructor(described: readonly SensorTypeDescription[] = []) {
    const m = new Map<string, SensorTypeDescription>();
    for (const t of SENSOR_TYPES) {
      const r = SENSOR_RANGES[t];
      m.set(t, {
        type: t,
        unit: r.unit,
        range: { min: r.min, max: r.max },
        band: { min: r.normalMin, max: r.normalMax },
        builtin: true,
      });
    }
    for (const d of described) {
      if (m.has(d.type)) throw new SensorTypesError(`Sensor type ${d.type} is described twice or is built in`);
      m.set(d.type, d);
    }
    this.#byType = m;
  }

  /** The description of a type, or undefined for a type nobody described. */
  describe(type: string): SensorTypeDescription | undefined {
    return this.#byType.get(type);
  }

  /** Every described type, built-in ones first. */
  list(): SensorTypeDescription[] {
    return [...this.#byType.values()];
  }
}

/** The six built-in types only. */
export const BUILTIN_SENSOR_TYPES: SensorTypes = new SensorTypes();

/**
 * Looks up a sensor type: its unit, physical range and normal band, or
 * undefined when nobody described it (z-score, stuck and silence detectors
 * still apply; threshold and range checks do not).
 *
 * @example
 * ```ts
 * describeType("temperature")?.band; // { min: 15, max: 25 }
 * describeType("co2");               // undefined unless a types file describes it
 * ```
 */
export function describeType(
  type: string,
  types: SensorTypes = BUILTIN_SENSOR_TYPES,
): SensorTypeDescription | undefined {
  return types.describe(type);
}

const ENTRY_KEYS = new Set(["unit", "min", "max", "normal_min", "normal_max"]);

/**
 * Parses the text of a sensor types file:
 * `{"types": {"co2": {"unit": "ppm", "min": 0, "max": 10000, "normal_min": 400, "normal_max": 1000}}}`.
 * Every field of an entry is optional; `min`/`max` and `normal_min`/`normal_max` come in pairs,
 * the band lies inside the range. Throws a `SensorTypesError` naming `source` and the entry.
 */
export function parseSensorTypes(text: string, source = "sensor types file"): SensorTypes {
  const bad = (what: string) => new SensorTypesError(`${source}: ${what}`);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw bad(`not JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(data)) throw bad(`must be an object {"types": {...}}`);
  for (const k of Object.keys(data)) if (k !== "types") throw bad(`unknown key "${k}" (expected only "types")`);
  const types = data.types;
  if (!isPlainObject(types)) throw bad(`"types" must be an object of type name to description`);
  const out: SensorTypeDescription[] = [];
  for (const [type, spec] of Object.entries(types)) {
    const at = `type "${type}"`;
    if (!isVocabularyName(type)) throw bad(`${at}: name must be 1 to 64 letters, digits, spaces or _.:-`);
    if ((SENSOR_TYPES as readonly string[]).includes(type)) {
      throw bad(`${at} is built in; its range and band cannot be redefined`);
    }
    if (!isPlainObject(spec)) throw bad(`${at} must be an object`);
    for (const k of Object.keys(spec)) {
      if (!ENTRY_KEYS.has(k)) throw bad(`${at}: unknown field "${k}" (expected ${[...ENTRY_KEYS].join(", ")})`);
    }
    if (spec.unit !== undefined && typeof spec.unit !== "string") throw bad(`${at}: unit must be a string`);
    const range = interval(spec, "min", "max", (w) => bad(`${at}: ${w}`));
    const band = interval(spec, "normal_min", "normal_max", (w) => bad(`${at}: ${w}`));
    if (range && band && (band.min < range.min || band.max > range.max)) {
      throw bad(
        `${at}: the normal band ${band.min} to ${band.max} must lie inside min ${range.min} to max ${range.max}`,
      );
    }
    out.push({ type, unit: (spec.unit as string | undefined) ?? "", range, band, builtin: false });
  }
  return new SensorTypes(out);
}

/** Reads and parses a sensor types file; a missing or unreadable file is a `SensorTypesError`. */
export function loadSensorTypesFile(path: string): SensorTypes {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    throw new SensorTypesError(`SENSOR_TYPES_FILE ${path}: cannot be read (${(e as Error).message})`);
  }
  return parseSensorTypes(text, `SENSOR_TYPES_FILE ${path}`);
}

function interval(
  spec: Record<string, unknown>,
  lo: string,
  hi: string,
  bad: (what: string) => Error,
): ValueInterval | undefined {
  const a = spec[lo], b = spec[hi];
  if (a === undefined && b === undefined) return undefined;
  if (typeof a !== "number" || typeof b !== "number" || !Number.isFinite(a) || !Number.isFinite(b)) {
    throw bad(`${lo} and ${hi} must both be given, as numbers`);
  }
  if (!(a < b)) throw bad(`${lo} (${a}) must be less than ${hi} (${b})`);
  return { min: a, max: b };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
