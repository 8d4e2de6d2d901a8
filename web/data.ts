/** The dashboard's MongoDB reads and its writes (acknowledging an incident, silences). */
import type { Db, Filter } from "mongodb";
import {
  type AlertDoc,
  type AnomalyEventDoc,
  BUILTIN_SENSOR_TYPES,
  COLLECTIONS,
  type DeadLetterDoc,
  type PipelineStatsDoc,
  type ReadingDoc,
  type SensorTypes,
  type SilenceDoc,
  type SilenceMatchers,
  type WindowDoc,
  type WindowKind,
} from "@iot/shared";
import {
  toWireAlert,
  toWireDeadLetter,
  toWireEvent,
  toWireReading,
  toWireSilence,
  toWireStats,
  toWireWindow,
  type WireAlert,
  type WireDeadLetter,
  type WireEvent,
  type WireReading,
  type WireSilence,
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

/** Query of `alerts()` (incidents). */
export interface AlertQuery extends Filters, LifecycleQuery {
  sensor?: string;
}

/** Query of `events()`. */
export interface EventQuery extends Filters {
  sensor?: string;
  /** Events on which this detector fired. */
  detector?: string;
  since?: Date;
  until?: Date;
  limit: number;
}

/** A new silence. */
export interface SilenceInput {
  matchers: SilenceMatchers;
  reason: string;
  expiresAt: Date;
  by: string;
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
    return this.db.collection<AlertDoc>(COLLECTIONS.incidents);
  }
  #silences() {
    return this.db.collection<SilenceDoc>(COLLECTIONS.silences);
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

  /** Anomaly events, newest first. */
  async events(q: EventQuery): Promise<WireEvent[]> {
    const f: Filter<AnomalyEventDoc> = {};
    if (q.sensor) f.sensor_id = q.sensor;
    if (q.type) f.sensor_type = q.type;
    if (q.location) f.location = q.location;
    if (q.detector) f.detectors = q.detector as AnomalyEventDoc["alert_type"];
    if (q.since || q.until) {
      f.timestamp = { ...(q.since ? { $gt: q.since } : {}), ...(q.until ? { $lte: q.until } : {}) };
    }
    const docs = await this.db.collection<AnomalyEventDoc>(COLLECTIONS.events).find(f).sort({ timestamp: -1 })
      .limit(q.limit).toArray();
    return docs.map(toWireEvent);
  }

  /** Silences not expired at `now` (or every one, newest first, with `all`). */
  async silences(now = new Date(), all = false): Promise<WireSilence[]> {
    const f: Filter<SilenceDoc> = all ? {} : { expires_at: { $gt: now } };
    const docs = await this.#silences().find(f).sort({ created_at: -1 }).limit(500).toArray();
    return docs.map(toWireSilence);
  }

  /** Creates a silence; the processors apply it within seconds. */
  async createSilence(input: SilenceInput, now = new Date()): Promise<WireSilence> {
    const doc: SilenceDoc = {
      _id: crypto.randomUUID(),
      matchers: input.matchers,
      reason: input.reason,
      created_by: input.by,
      created_at: now,
      expires_at: input.expiresAt,
    };
    await this.#silences().insertOne(doc);
    return toWireSilence(doc);
  }

  /** Deletes a silence (its incidents are announced again); whether there was one. */
  async deleteSilence(id: string): Promise<boolean> {
    return (await this.#silences().deleteOne({ _id: id })).deletedCount > 0;
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
      // Incidents whose silence rule is active (or, before rules were grouped, silence alerts).
      this.#alerts().countDocuments(
        { ...open, $or: [{ "rules.silence.active": true }, { rule: "silence", rules: { $exists: false } }] } as Filter<
          AlertDoc
        >,
      ),
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
