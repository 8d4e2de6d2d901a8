/**
 * Discovers the sensor types and locations present in the data: one
 * aggregation over the recent type/location windows, cached for a few
 * seconds and shared by concurrent requests. Works on MongoDB and on
 * mongo-java-server (`$match`, `$group` with `$addToSet`).
 */
import type { Db } from "mongodb";
import {
  BUILTIN_SENSOR_TYPES,
  COLLECTIONS,
  describeType,
  isVocabularyName,
  type SensorTypeDescription,
  type SensorTypes,
  type WindowDoc,
} from "@iot/shared";
import { bareType, type WireVocabulary } from "./lib/vocabulary.ts";

/** Options of `VocabularyLoader`. */
export interface VocabularyOptions {
  db: Db;
  /** Described types (default: the built-in six); others are listed without unit, range or band. */
  types?: SensorTypes;
  /** How far back windows are looked at (default 1 h). */
  spanMs?: number;
  /** How long a result is reused (default 5 s). */
  ttlMs?: number;
  /** Most names kept of each list (default 500). */
  maxNames?: number;
  /** The clock, epoch ms (default `Date.now`). */
  now?: () => number;
}

/** Default of `spanMs`: one hour. */
export const VOCABULARY_SPAN_MS = 3_600_000;
/** Default of `ttlMs`: five seconds. */
export const VOCABULARY_TTL_MS = 5_000;

/**
 * The types and locations of the type/location windows that started in the
 * last `spanMs`, cached for `ttlMs`. A failed query is not cached.
 *
 * @example
 * ```ts
 * const vocabulary = new VocabularyLoader({ db });
 * const { types, locations } = await vocabulary.load();
 * console.log(types.map((t) => t.type), locations); // ["temperature", "co2"] ["lab-7", "office-lab"]
 * ```
 */
export class VocabularyLoader {
  readonly #db: Db;
  readonly #types: SensorTypes;
  readonly #spanMs: number;
  readonly #ttlMs: number;
  readonly #maxNames: number;
  readonly #now: () => number;
  #cached?: { at: number; value: Promise<WireVocabulary> };

  constructor(options: VocabularyOptions) {
    this.#db = options.db;
    this.#types = options.types ?? BUILTIN_SENSOR_TYPES;
    this.#spanMs = options.spanMs ?? VOCABULARY_SPAN_MS;
    this.#ttlMs = options.ttlMs ?? VOCABULARY_TTL_MS;
    this.#maxNames = options.maxNames ?? 500;
    this.#now = options.now ?? Date.now;
  }

  /** The vocabulary (cached). */
  load(): Promise<WireVocabulary> {
    const now = this.#now();
    const c = this.#cached;
    if (c && now - c.at < this.#ttlMs) return c.value;
    const value = this.#query(now - this.#spanMs);
    const entry = { at: now, value };
    this.#cached = entry;
    value.catch(() => {
      if (this.#cached === entry) this.#cached = undefined;
    });
    return value;
  }

  async #query(since: number): Promise<WireVocabulary> {
    const [row] = await this.#db.collection<WindowDoc>(COLLECTIONS.windows).aggregate<
      { types: unknown[]; locations: unknown[] }
    >([
      { $match: { kind: "type_location", window_start: { $gte: new Date(since) } } },
      { $group: { _id: null, types: { $addToSet: "$sensor_type" }, locations: { $addToSet: "$location" } } },
    ]).toArray();
    const names = (list: unknown[] | undefined) =>
      (list ?? []).filter(isVocabularyName).sort((a, b) => a.localeCompare(b)).slice(0, this.#maxNames);
    return {
      types: describeTypes(names(row?.types), this.#types),
      locations: names(row?.locations),
      since,
    };
  }
}

/** Descriptions of the named types (a bare one for undescribed types): built-in first, then by name. */
export function describeTypes(
  names: readonly string[],
  types: SensorTypes = BUILTIN_SENSOR_TYPES,
): SensorTypeDescription[] {
  const order = new Map(types.list().map((t, i) => [t.type, t.builtin ? i : Infinity]));
  return names
    .map((type) => describeType(type, types) ?? bareType(type))
    .sort((a, b) => (order.get(a.type) ?? Infinity) - (order.get(b.type) ?? Infinity) || a.type.localeCompare(b.type));
}
