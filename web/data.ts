/** The dashboard's MongoDB reads and its one write (acknowledging an alert). */
import type { Db, Filter } from "mongodb";
import {
  type AlertDoc,
  BUILTIN_SENSOR_TYPES,
  COLLECTIONS,
  type DeadLetterDoc,
  type PipelineStatsDoc,
  type ReadingDoc,
  type SensorTypes,
  type WindowDoc,
  type WindowKind,
} from "@iot/shared";
import {
  toWireAlert,
  toWireDeadLetter,
  toWireReading,
  toWireStats,
  toWireWindow,
  type WireAlert,
  type WireDeadLetter,
  type WireReading,
  type WireStats,
  type WireWindow,
} from "./lib/wire.ts";
import { acknowledgeAlert, findAlerts, type LifecycleQuery } from "./alert_query.ts";
import type { WireVocabulary } from "./lib/vocabulary.ts";
import { VocabularyLoader } from "./vocabulary.ts";

/** Type and location filters of the overview (from the URL). */
export interface Filters {
  /** Any sensor type (open vocabulary). */
  type?: string;
  /** Any location (open vocabulary). */
  location?: string;
}

/** Query of `windows()`. */
export interface WindowQuery extends Filters {
  kind: WindowKind;
  size: number;
  sensor?: string;
  since?: Date;
  limit: number;
}

/** Query of `alerts()`. */
export interface AlertQuery extends Filters, LifecycleQuery {
  sensor?: string;
}

/** Headline numbers of the overview. */
export interface Tiles {
  /** Messages per second into the processors (sum of fresh heartbeats), undefined when none runs. */
  rateIn?: number;
  readingsStored: number;
  openAlerts: number;
  silentSensors: number;
  /** Median end-to-end lag reported by the processors (worst of them). */
  e2eLagMs?: number;
  processors: number;
}

/** Everything the overview shows. */
export interface Overview {
  tiles: Tiles;
  windows: WireWindow[];
  alerts: WireAlert[];
  /** The types and locations present in the data (unfiltered: the filters' options). */
  vocabulary: WireVocabulary;
  now: number;
}

/** What the stored data says about a sensor (the sensor page's heading). */
export interface SensorDetails {
  sensor_type: string;
  location: string;
  /** The reading's `metadata.unit`, else the described type's unit, else empty. */
  unit: string;
  /** The reading's `metadata.sensor_model`, when sent. */
  model?: string;
  /** Where the details come from: the latest reading, or (readings expired) the latest window. */
  from: "reading" | "window";
}

/** Options of `DashboardData`. */
export interface DashboardDataOptions {
  /** Described sensor types (default: the built-in six). */
  types?: SensorTypes;
}

/** A heartbeat older than this is not counted as a running program. */
export const STALE_HEARTBEAT_MS = 30_000;

/** How far back the overview charts reach. */
export const OVERVIEW_SPAN_MS = 10 * 60_000;

/** The dashboard's data access. */
export class DashboardData {
  readonly #vocabulary: VocabularyLoader;
  readonly #types?: SensorTypes;

  constructor(readonly db: Db, options: DashboardDataOptions = {}) {
    this.#vocabulary = new VocabularyLoader({ db, types: options.types });
    this.#types = options.types;
  }

  #windows() {
    return this.db.collection<WindowDoc>(COLLECTIONS.windows);
  }
  #alerts() {
    return this.db.collection<AlertDoc>(COLLECTIONS.alerts);
  }

  /** Windows, newest first. */
  async windows(q: WindowQuery): Promise<WireWindow[]> {
    const f: Filter<WindowDoc> = { kind: q.kind, size_s: q.size };
    if (q.type) f.sensor_type = q.type;
    if (q.location) f.location = q.location;
    if (q.sensor) f.sensor_id = q.sensor;
    if (q.since) f.updated_at = { $gt: q.since };
    const docs = await this.#windows().find(f).sort({ window_start: -1 }).limit(q.limit).toArray();
    return docs.map(toWireWindow);
  }

  /** Alerts, most recently seen first. */
  alerts(q: AlertQuery): Promise<WireAlert[]> {
    const f: Filter<AlertDoc> = {};
    if (q.sensor) f.sensor_id = q.sensor;
    if (q.type) f.sensor_type = q.type;
    if (q.location) f.location = q.location;
    return findAlerts(this.#alerts(), q, f, toWireAlert);
  }

  /** Heartbeats of running programs (fresh ones only unless `all`). */
  async stats(all = false, now = Date.now()): Promise<WireStats[]> {
    const f: Filter<PipelineStatsDoc> = all ? {} : { updated_at: { $gt: new Date(now - STALE_HEARTBEAT_MS) } };
    const docs = await this.db.collection<PipelineStatsDoc>(COLLECTIONS.pipelineStats).find(f).sort({ _id: 1 })
      .limit(100).toArray();
    return docs.map(toWireStats);
  }

  /** Headline numbers. */
  async tiles(filters: Filters = {}, now = Date.now()): Promise<Tiles> {
    const open: Filter<AlertDoc> = { state: "firing" };
    if (filters.type) open.sensor_type = filters.type;
    if (filters.location) open.location = filters.location;
    const [stats, readingsStored, openAlerts, silentSensors] = await Promise.all([
      this.stats(false, now),
      this.db.collection(COLLECTIONS.readings).estimatedDocumentCount(),
      this.#alerts().countDocuments(open),
      this.#alerts().countDocuments({ ...open, rule: "silence" }),
    ]);
    return { ...tilesFromStats(stats), readingsStored, openAlerts, silentSensors };
  }

  /** The sensor types and locations present in the recent data (cached for a few seconds). */
  vocabulary(): Promise<WireVocabulary> {
    return this.#vocabulary.load();
  }

  /** The overview: tiles, the last 10 minutes of 10 s type/location windows, the latest alerts, the vocabulary. */
  async overview(filters: Filters, now = Date.now()): Promise<Overview> {
    const f: Filter<WindowDoc> = {
      kind: "type_location",
      size_s: 10,
      window_start: { $gte: new Date(now - OVERVIEW_SPAN_MS) },
    };
    if (filters.type) f.sensor_type = filters.type;
    if (filters.location) f.location = filters.location;
    const [tiles, windows, alerts, vocabulary] = await Promise.all([
      this.tiles(filters, now),
      this.#windows().find(f).sort({ window_start: -1 }).limit(5000).toArray(),
      this.alerts({ ...filters, limit: 20 }),
      this.vocabulary(),
    ]);
    return { tiles, windows: windows.map(toWireWindow), alerts, vocabulary, now };
  }

  /** Latest raw readings of a sensor, oldest first. */
  async readings(sensorId: string, limit: number, since?: Date): Promise<WireReading[]> {
    const f: Filter<ReadingDoc> = { sensor_id: sensorId };
    if (since) f.timestamp = { $gt: since };
    const docs = await this.db.collection<ReadingDoc>(COLLECTIONS.readings).find(f).sort({ timestamp: -1 })
      .limit(limit).toArray();
    return docs.map(toWireReading).reverse();
  }

  /**
   * A sensor's type, location, unit and model from its latest stored reading
   * with a unit (else its latest reading; once raw readings expired, its latest
   * window); undefined when nothing of the sensor is stored.
   */
  async sensorDetails(sensorId: string): Promise<SensorDetails | undefined> {
    const readings = this.db.collection<ReadingDoc>(COLLECTIONS.readings);
    const latest = await readings.find({ sensor_id: sensorId }).sort({ timestamp: -1 }).limit(1).next();
    // metadata is optional per reading: take it from the latest reading that has a unit, if the latest has none.
    const reading = latest && typeof latest.metadata?.unit !== "string"
      ? await readings.find({ sensor_id: sensorId, "metadata.unit": { $type: "string" } }).sort({ timestamp: -1 })
        .limit(1).next() ?? latest
      : latest;
    const from = reading
      ? { doc: reading, from: "reading" as const }
      : await this.#windows().find({ kind: "sensor", sensor_id: sensorId }).sort({ window_start: -1 }).limit(1).next()
        .then((w) => w ? { doc: w, from: "window" as const } : undefined);
    if (!from) return undefined;
    const { sensor_type, location } = from.doc;
    const md = reading?.metadata;
    const d: SensorDetails = {
      sensor_type,
      location,
      unit: (typeof md?.unit === "string" ? md.unit : undefined) ??
        (this.#types ?? BUILTIN_SENSOR_TYPES).describe(sensor_type)?.unit ?? "",
      from: from.from,
    };
    if (typeof md?.sensor_model === "string") d.model = md.sensor_model;
    return d;
  }

  /** Dead letters: total count and the latest ones. */
  async deadLetters(limit: number): Promise<{ count: number; latest: WireDeadLetter[] }> {
    const col = this.db.collection<DeadLetterDoc>(COLLECTIONS.deadLetters);
    const [count, latest] = await Promise.all([
      col.countDocuments({}),
      col.find({}).sort({ failed_at: -1 }).limit(limit).toArray(),
    ]);
    return { count, latest: latest.map(toWireDeadLetter) };
  }

  /**
   * Marks an alert acknowledged (the processor's `state` is left alone).
   * Returns the updated alert, or undefined when there is no such alert.
   */
  async acknowledge(id: string, by: string, now = new Date()): Promise<WireAlert | undefined> {
    const doc = await acknowledgeAlert(this.#alerts(), id, by, now);
    return doc ? toWireAlert(doc) : undefined;
  }

  /** Whether the database answers a ping. */
  async ping(): Promise<boolean> {
    try {
      await this.db.command({ ping: 1 });
      return true;
    } catch {
      return false;
    }
  }
}

/** Rate, lag and processor count from fresh heartbeats. */
export function tilesFromStats(stats: WireStats[]): { rateIn?: number; e2eLagMs?: number; processors: number } {
  const procs = stats.filter((s) => s.role === "processor");
  const lags = procs.map((s) => s.e2e_lag_ms).filter((v): v is number => typeof v === "number");
  return {
    rateIn: procs.length ? procs.reduce((a, s) => a + s.rate, 0) : undefined,
    e2eLagMs: lags.length ? Math.max(...lags) : undefined,
    processors: procs.length,
  };
}
