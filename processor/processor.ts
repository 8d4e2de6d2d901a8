/**
 * The stream processor: consumes readings in a consumer group, validates them,
 * stores raw readings, maintains event-time windows, detects anomalies, keeps
 * alerts, and commits offsets only after MongoDB acknowledged every write.
 */
import type { Admin, Batch, Consumer, Kafka, Producer } from "kafkajs";
import type { AnyBulkWriteOperation, Collection, Db, MongoClient } from "mongodb";
import {
  COLLECTIONS,
  createKafka,
  createLogger,
  createMongoClient,
  type DeadLetterDoc,
  decodeReading,
  type DecodeResult,
  ensureSchema,
  ensureTopics,
  isSensorType,
  type Logger,
  type PipelineStatsDoc,
  PROMETHEUS_CONTENT_TYPE,
  type ReadingDoc,
  readingId,
  type SensorReading,
} from "@iot/shared";
import { type AlertEvent, AlertManager, type AlertSubject, type AlertWrite, processorFields } from "./alerts.ts";
import type { ProcessorConfig } from "./config.ts";
import { checkReading, checkSilence, checkThreshold, newSensorState, type SensorState } from "./detectors.ts";
import { deadLetterDoc, deadLetterMessage, type Rejected } from "./dlq.ts";
import { createProcessorMetrics, type ProcessorMetrics } from "./metrics.ts";
import { judgeBatch, Watermarks } from "./watermark.ts";
import {
  assignWindows,
  emptyPart,
  foldValue,
  loadedPart,
  partKey,
  storablePart,
  type StoredWindowDoc,
  windowIdentity,
  type WindowKey,
  type WindowPart,
  windowTotals,
} from "./windows.ts";

/** The processor's reported rate is averaged over this long. */
const RATE_WINDOW_MS = 10_000;

/** Counters of one processor instance. */
export interface ProcessorStats {
  instance: string;
  consumed: number;
  stored: number;
  invalid: number;
  late: number;
  deadLetters: number;
  windowsWritten: number;
  alertsNew: number;
  alertsResolved: number;
  mongoRetries: number;
  assigned: number[];
  /** Next offset to commit, per partition, as committed. */
  committed: Record<string, number>;
  lag: Record<string, number>;
  e2eLagMs: number;
  openWindows: number;
  openAlerts: number;
  /** Seconds spent per stage (raw_write, window_load, window_write, ...). */
  stageSeconds: Record<string, number>;
}

/** A running processor. */
export interface ProcessorHandle {
  /** Resolves once the consumer joined the group and got its partitions. */
  ready: Promise<void>;
  /** Graceful stop: stop fetching, finish the batch, flush windows and alerts, commit, close. */
  stop(): Promise<void>;
  /** Current counters. */
  stats(): ProcessorStats;
  /** The settings in effect. */
  config: ProcessorConfig;
  /** Port of /metrics and /healthz, when served. */
  metricsPort?: number;
}

interface WinState {
  key: WindowKey;
  parts: Map<number, WindowPart>;
  /** Parts of partitions owned by other instances, as last read (sensor windows: normally none). */
  foreign: Map<number, WindowPart>;
  loaded: Set<number>;
  dirty: Set<number>;
}

interface SensorEntry {
  state: SensorState;
  subject: AlertSubject;
  partition: number;
  lastWall: number;
}

interface Valid {
  reading: SensorReading;
  eventTime: number;
  offset: number;
  late: boolean;
  /** At or below an offset already folded into this partition's windows (fetched again). */
  replay: boolean;
  id: string;
}

const RAW_CHUNK = 1000;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

async function parallel<T>(tasks: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

interface BulkErrorLike {
  code?: number;
  writeErrors?: { code?: number; index?: number }[] | { code?: number; index?: number };
  result?: { upsertedIds?: Record<number, unknown>; getUpsertedIds?: () => { index: number; _id: unknown }[] };
}

function writeErrors(e: unknown): { code?: number; index?: number }[] {
  const we = (e as BulkErrorLike).writeErrors;
  if (!we) return [];
  return Array.isArray(we) ? we : [we];
}

/** A bulk error made only of duplicate-key errors (a concurrent upsert of the same `_id`): the data is there. */
function onlyDuplicates(e: unknown): boolean {
  const errs = writeErrors(e);
  return errs.length > 0 && errs.every((x) => x.code === 11000);
}

/** Limits how many operations run at once. */
class Semaphore {
  #free: number;
  #waiting: (() => void)[] = [];
  constructor(size: number) {
    this.#free = Math.max(1, size);
  }
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((r) => this.#waiting.push(r));
    try {
      return await fn();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    }
  }
}

/** The stream processor. Use `startProcessor`. */
export class Processor {
  readonly log: Logger;
  readonly metrics: ProcessorMetrics;
  #kafka!: Kafka;
  #admin!: Admin;
  #consumer!: Consumer;
  #producer?: Producer;
  #client?: MongoClient;
  #raw?: Collection<ReadingDoc>;
  #win?: Collection<StoredWindowDoc>;
  #alertsCol?: Collection<AlertWrite>;
  #dead?: Collection<DeadLetterDoc>;
  #statsCol?: Collection<PipelineStatsDoc>;
  #server?: Deno.HttpServer;
  #timers: ReturnType<typeof setInterval>[] = [];

  #windows = new Map<string, WinState>();
  #sensors = new Map<string, SensorEntry>();
  #alerts: AlertManager;
  #marks: Watermarks;
  #sizesMs: number[];
  #assigned = new Set<number>();
  #assignmentValid = false;
  #processed = new Map<number, number>();
  /** Highest offset per partition folded into the in-memory windows (replays at or below it are skipped). */
  #foldedUpTo = new Map<number, number>();
  #committed = new Map<number, number>();
  #lag: Record<string, number> = {};
  #e2eSamples: number[] = [];
  #e2eLagMs = 0;
  #lastFlush = 0;
  #inflight = new Set<Promise<void>>();
  #alertsStale = false;
  #rawSlots = new Semaphore(1);
  #concurrency = 1;
  #chains = new Map<number, Promise<void>>();
  #stages: Record<string, number> = {};
  #lock: Promise<unknown> = Promise.resolve();
  #stopping = false;
  #aborted = false;
  #mongoHealthy = true;
  #readyResolve!: () => void;
  #stopPromise?: Promise<void>;
  #startedAt = new Date();
  /** (time, consumed) samples of the last ~10 s: the reported rate is smoothed over them. */
  #rateSamples: [number, number][] = [[Date.now(), 0]];
  #totals = {
    consumed: 0,
    stored: 0,
    invalid: 0,
    late: 0,
    dead_letters: 0,
    windows_written: 0,
    alerts_new: 0,
    alerts_resolved: 0,
    mongo_retries: 0,
  };
  readonly ready: Promise<void>;

  constructor(readonly config: ProcessorConfig, logger?: Logger) {
    this.log = logger ?? createLogger({ name: "processor", level: config.log.level, format: config.log.format });
    this.metrics = createProcessorMetrics();
    this.#alerts = new AlertManager(config.alertHoldMs);
    this.#marks = new Watermarks({ allowedLatenessMs: config.allowedLatenessMs, idleMs: config.idleMs });
    this.#sizesMs = config.windowsS.map((s) => s * 1000);
    this.ready = new Promise((r) => (this.#readyResolve = r));
  }

  /** Connects, prepares topics and collections, and starts consuming. */
  async start(): Promise<void> {
    const cfg = this.config;
    this.#kafka = await createKafka(cfg.kafka, { role: "processor", logger: this.log });
    this.#admin = this.#kafka.admin();
    await this.#admin.connect();
    await ensureTopics(this.#admin, [
      { topic: cfg.topics.readings, numPartitions: cfg.partitions },
      { topic: cfg.topics.deadLetters, numPartitions: cfg.partitions },
      { topic: cfg.topics.alerts, numPartitions: 1 },
    ]);
    if (!cfg.consumeOnly) {
      await this.#startMongo();
      this.#producer = this.#kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await this.#producer.connect();
    }
    if (cfg.metricsPort > 0) this.#serveHttp();

    this.#consumer = this.#kafka.consumer({
      groupId: cfg.groupId,
      sessionTimeout: 30_000,
      heartbeatInterval: 3000,
      maxBytesPerPartition: 4 * 1024 * 1024,
      maxWaitTimeInMs: 200,
    });
    const ev = this.#consumer.events;
    this.#consumer.on(ev.REBALANCING, () => {
      this.#assignmentValid = false;
    });
    this.#consumer.on(ev.GROUP_JOIN, (e) => {
      const assignment = (e.payload.memberAssignment as Record<string, number[]>)[cfg.topics.readings] ?? [];
      this.#onAssigned(assignment);
    });
    this.#consumer.on(ev.CRASH, (e) => {
      const fields = { error: e.payload.error, restart: e.payload.restart };
      if (e.payload.restart) this.log.warn("Consumer restarting after an error", fields);
      else {
        this.#assignmentValid = false; // /healthz turns 503: the consumer will not come back by itself
        this.log.error("Consumer crashed", fields);
      }
    });
    await this.#consumer.connect();
    await this.#consumer.subscribe({ topic: cfg.topics.readings, fromBeginning: cfg.fromBeginning });
    await this.#consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
        if (this.#stopping) return;
        await this.#withLock(async () => {
          if (this.#stopping && this.#aborted) return;
          if (this.#alertsStale) {
            await this.#flush(heartbeat);
            await this.#retry("Open alert reload", () => this.#loadOpenAlerts(), heartbeat);
            this.#alertsStale = false;
          }
          const started = performance.now();
          const ok = await this.#processBatch(batch, heartbeat);
          if (!ok) return;
          resolveOffset(batch.lastOffset());
          this.metrics.batchSeconds.observe((performance.now() - started) / 1000);
          if (Date.now() - this.#lastFlush >= cfg.flushIntervalMs) await this.#flush(heartbeat);
        });
      },
    });

    this.#timers.push(setInterval(() => {
      if (this.#stopping || Date.now() - this.#lastFlush < cfg.flushIntervalMs) return;
      this.#withLock(() => this.#stopping ? Promise.resolve() : this.#flush()).catch((e) =>
        this.log.warn("Timed flush failed", { error: e })
      );
    }, Math.max(100, Math.floor(cfg.flushIntervalMs / 2))));
    if (!cfg.consumeOnly) {
      this.#timers.push(setInterval(() => this.#checkSilence(), 1000));
      this.#timers.push(setInterval(() => this.#retention().catch(() => {}), 3600_000));
      this.#retention().catch(() => {});
    }
    this.#timers.push(setInterval(() => {
      this.#heartbeat().catch((e) => this.log.debug("Heartbeat failed", { error: e }));
    }, cfg.heartbeatMs));
    this.log.info("Processor started", {
      instance: cfg.instance,
      group: cfg.groupId,
      topic: cfg.topics.readings,
      windows_s: cfg.windowsS,
      consume_only: cfg.consumeOnly,
      write_concurrency: this.#concurrency,
    });
  }

  async #startMongo(): Promise<void> {
    const cfg = this.config;
    this.#client = createMongoClient(cfg.mongo, { appName: `processor-${cfg.instance}` });
    await this.#client.connect();
    const db = this.#client.db(cfg.mongo.db);
    const report = await ensureSchema(db, cfg.rawRetentionDays);
    for (const w of report.warnings) this.log.warn(w);
    if (report.created.length) this.log.info("Created collections", { created: report.created });
    const standIn = !(await this.#checkPartialIndex(db));
    this.#concurrency = this.config.writeConcurrency || (standIn ? 1 : 4);
    this.#rawSlots = new Semaphore(this.#concurrency);
    this.#raw = db.collection(COLLECTIONS.readings);
    this.#win = db.collection(COLLECTIONS.windows);
    this.#alertsCol = db.collection(COLLECTIONS.alerts);
    this.#dead = db.collection(COLLECTIONS.deadLetters);
    this.#statsCol = db.collection(COLLECTIONS.pipelineStats);
    await this.#loadOpenAlerts();
  }

  /**
   * The unique index "one open alert per sensor and rule" needs partial-index
   * support. A server that ignores `partialFilterExpression` (the local
   * stand-in) would make it unique over resolved alerts too, so that a sensor
   * could never alert twice for a rule: there the index is dropped and the
   * processor alone keeps one open alert per sensor and rule.
   */
  async #checkPartialIndex(db: Db): Promise<boolean> {
    const probe = db.collection(`_processor_probe_${crypto.randomUUID().slice(0, 8)}`);
    let supported = true;
    try {
      await probe.createIndex({ a: 1 }, { unique: true, partialFilterExpression: { s: "firing" }, name: "p" });
      await probe.insertOne({ a: 1, s: "resolved" });
      await probe.insertOne({ a: 1, s: "resolved" });
    } catch {
      supported = false;
    } finally {
      await probe.drop().catch(() => {});
    }
    if (supported) return true;
    this.log.warn(
      "This MongoDB server does not honour partial indexes: dropping anomaly_alerts.open_alert_per_sensor_rule; the processor keeps one open alert per sensor and rule itself",
    );
    await db.collection(COLLECTIONS.alerts).dropIndex("open_alert_per_sensor_rule").catch(() => {});
    return false;
  }

  async #loadOpenAlerts(): Promise<void> {
    if (!this.#alertsCol) return;
    const open = await this.#alertsCol.find({ state: "firing" }).toArray();
    this.#alerts.reset(open);
    this.metrics.openAlerts.set(this.#alerts.openCount);
  }

  #onAssigned(partitions: number[]): void {
    const next = new Set(partitions);
    const revoked = [...this.#assigned].filter((p) => !next.has(p));
    const gained = [...next].filter((p) => !this.#assigned.has(p));
    // Unflushed state of revoked partitions is dropped: the new owner re-reads from the committed offset.
    for (const p of revoked) {
      this.#foldedUpTo.delete(p);
      this.#processed.delete(p);
      this.#committed.delete(p);
      delete this.#lag[String(p)];
    }
    if (revoked.length) {
      for (const [id, w] of this.#windows) {
        for (const p of revoked) {
          w.parts.delete(p);
          w.loaded.delete(p);
          w.dirty.delete(p);
        }
        if (w.parts.size === 0) this.#windows.delete(id);
      }
      for (const [id, s] of this.#sensors) if (!next.has(s.partition)) this.#sensors.delete(id);
      this.metrics.lag.reset();
    }
    if (gained.length) {
      // Parts read as another owner's are now ours: they are loaded again as our own before use.
      for (const w of this.#windows.values()) for (const p of gained) w.foreign.delete(p);
    }
    this.#marks.assign(next, Date.now());
    this.#assigned = next;
    this.#assignmentValid = true;
    this.metrics.assignedPartitions.set(next.size);
    this.log.info("Partitions assigned", { partitions: [...next].sort((a, b) => a - b), revoked });
    // Another instance may have opened or resolved alerts of the partitions gained: reload before the next batch.
    if (!this.config.consumeOnly && (revoked.length || gained.length)) this.#alertsStale = true;
    this.#readyResolve();
  }

  #withLock<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn, fn);
    this.#lock = run.catch(() => {});
    return run;
  }

  #addStage(stage: string, since: number): void {
    const dt = (performance.now() - since) / 1000;
    this.metrics.stageSeconds.inc(dt, { stage });
    this.#stages[stage] = (this.#stages[stage] ?? 0) + dt;
  }

  async #timed<T>(stage: string, fn: () => Promise<T>): Promise<T> {
    const t = performance.now();
    try {
      return await fn();
    } finally {
      const dt = (performance.now() - t) / 1000;
      this.metrics.stageSeconds.inc(dt, { stage });
      this.#stages[stage] = (this.#stages[stage] ?? 0) + dt;
    }
  }

  /** Runs a MongoDB or Kafka operation until it succeeds (backoff), unless aborted. */
  async #retry<T>(what: string, fn: () => Promise<T>, heartbeat?: () => Promise<void>): Promise<T> {
    let delay = 100;
    for (let attempt = 1;; attempt++) {
      try {
        const r = await fn();
        this.#mongoHealthy = true;
        return r;
      } catch (e) {
        if (this.#aborted) throw e;
        this.#mongoHealthy = false;
        this.metrics.mongoRetries.inc();
        this.#totals.mongo_retries++;
        this.log.warn(`${what} failed, retrying`, { attempt, delay_ms: delay, error: e });
        await sleep(delay);
        delay = Math.min(delay * 2, 5000);
        await heartbeat?.().catch(() => {});
      }
    }
  }

  /** Processes one fetched batch; returns false when it was abandoned (stop). */
  async #processBatch(batch: Batch, heartbeat: () => Promise<void>): Promise<boolean> {
    const partition = batch.partition;
    const now = Date.now();
    const valid: Valid[] = [];
    const rejected: Rejected[] = [];
    const tDecode = performance.now();
    // Lateness: see judgeBatch (a batch fetched again is judged as the first time; replays skip).
    const folded = this.#foldedUpTo.get(partition) ?? -1;
    const decoded: { m: (typeof batch.messages)[number]; offset: number; res: Extract<DecodeResult, { ok: true }> }[] =
      [];
    for (const m of batch.messages) {
      const res = decodeReading(m.value);
      const offset = Number(m.offset);
      if (!res.ok) {
        this.metrics.invalid.inc(1, { reason: res.reason });
        this.#totals.invalid++;
        rejected.push({
          topic: batch.topic,
          partition,
          offset: m.offset,
          key: m.key,
          value: m.value,
          reason: res.reason,
          detail: res.detail,
        });
        continue;
      }
      decoded.push({ m, offset, res });
    }
    const judged = judgeBatch(
      this.#marks,
      partition,
      folded,
      decoded.map((d) => ({ offset: d.offset, eventTime: d.res.eventTime })),
    );
    decoded.forEach(({ m, offset, res }, i) => {
      const late = judged.late[i];
      if (late) {
        this.metrics.late.inc();
        this.#totals.late++;
        rejected.push({
          topic: batch.topic,
          partition,
          offset: m.offset,
          key: m.key,
          value: m.value,
          reason: "late",
          detail: `Event time ${res.reading.timestamp} is behind the watermark ${
            new Date(judged.watermark[i]).toISOString()
          } (allowed lateness ${this.config.allowedLatenessMs} ms)`,
        });
      }
      valid.push({
        reading: res.reading,
        eventTime: res.eventTime,
        offset,
        late,
        replay: judged.replay[i],
        id: readingId(res.reading),
      });
    });
    this.#addStage("decode", tDecode);
    const n = batch.messages.length;
    this.metrics.consumed.inc(n);
    this.#totals.consumed += n;
    if (valid.length) this.#e2eSamples.push(now - valid[valid.length - 1].eventTime);

    if (this.config.consumeOnly) {
      this.#processed.set(partition, Number(batch.lastOffset()) + 1);
      return true;
    }

    // Raw and dead-letter writes run in the background while the next batch is fetched; the
    // batch's offsets count as processed (committable) only once they and the detectors are done.
    const writes = Promise.all([
      this.#timed("raw_write", () => this.#writeRaw(valid, heartbeat)),
      this.#timed("dead_letters", () => this.#writeDeadLetters(rejected, heartbeat)),
    ]);
    writes.catch(() => {}); // awaited below through the chain; an abort rejects it
    await this.#timed("window_load", () => this.#loadWindows(partition, valid, heartbeat));
    if (this.#aborted) return false;

    // Windows: every non-late reading, guarded by the per-partition offset in each part.
    const tFold = performance.now();
    for (const v of valid) {
      if (v.late || v.replay) continue;
      const anomaly = v.reading.status === "anomaly";
      for (const key of assignWindows(v.reading, v.eventTime, this.#sizesMs)) {
        const w = this.#windows.get(key.id)!;
        let part = w.parts.get(partition);
        if (!part) {
          part = emptyPart();
          w.parts.set(partition, part);
        }
        if (foldValue(part, v.reading.value, v.eventTime, v.offset, anomaly)) w.dirty.add(partition);
      }
    }
    this.#addStage("window_fold", tFold);
    if (Number.isFinite(judged.maxEvent)) this.#marks.observe(partition, judged.maxEvent, now);
    this.#foldedUpTo.set(partition, Math.max(folded, Number(batch.lastOffset())));
    this.metrics.openWindows.set(this.#windows.size);
    const next = Number(batch.lastOffset()) + 1;
    const prev = this.#chains.get(partition) ?? Promise.resolve();
    const chain = prev.then(() => writes).then(([inserted]) => {
      this.#detect(partition, valid, inserted);
      if (this.#assigned.has(partition)) this.#processed.set(partition, next);
    });
    this.#chains.set(partition, chain.catch(() => {}));
    this.#inflight.add(chain);
    chain.finally(() => this.#inflight.delete(chain)).catch(() => {});
    // Back-pressure: at most a few batches in flight.
    while (this.#inflight.size > 4) {
      await Promise.race(this.#inflight).catch(() => {});
      if (this.#aborted) return false;
    }
    await heartbeat().catch(() => {});
    return true;
  }

  /** Runs the detectors on a batch's readings once its raw writes are acknowledged. */
  #detect(partition: number, valid: Valid[], inserted: Set<string>): void {
    // Only readings stored for the first time, so a replay neither double-counts nor re-fires.
    const tDetect = performance.now();
    const wall = Date.now();
    for (const v of valid) {
      const r = v.reading;
      if (!isSensorType(r.sensor_type)) continue; // undescribed types: stored and windowed, detectors to come
      let s = this.#sensors.get(r.sensor_id);
      if (!s) {
        s = {
          state: newSensorState(r.sensor_type),
          subject: { sensor_id: r.sensor_id, sensor_type: r.sensor_type, location: r.location },
          partition,
          lastWall: wall,
        };
        this.#sensors.set(r.sensor_id, s);
      }
      s.lastWall = wall;
      s.partition = partition;
      this.#alerts.evaluate(s.subject, "silence", undefined, wall);
      if (v.late || !inserted.has(v.id)) continue;
      const t = v.eventTime;
      this.#alerts.evaluate(s.subject, "threshold", checkThreshold(r.sensor_type, r.value, this.config.detectors), t);
      const found = checkReading(s.state, r.value, t, this.config.detectors);
      for (const rule of ["zscore", "rate_of_change", "stuck"] as const) {
        this.#alerts.evaluate(s.subject, rule, found.find((f) => f.rule === rule), t);
      }
    }
    this.#addStage("detect", tDetect);
  }

  /** Waits until every background write of fetched batches is acknowledged. */
  async #drainWrites(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.all([...this.#inflight]);
  }

  /** Stores raw readings (idempotent upserts); returns the `_id`s inserted by this call. */
  async #writeRaw(valid: Valid[], heartbeat: () => Promise<void>): Promise<Set<string>> {
    const inserted = new Set<string>();
    if (valid.length === 0) return inserted;
    const ingested = new Date();
    const docs: ReadingDoc[] = valid.map((v) => {
      const r = v.reading;
      return {
        _id: v.id,
        sensor_id: r.sensor_id,
        sensor_type: r.sensor_type,
        location: r.location,
        value: r.value,
        status: r.status,
        seq: r.seq,
        timestamp: new Date(v.eventTime),
        metadata: r.metadata,
        ingested_at: ingested,
      };
    });
    const col = this.#raw!;
    // Unordered inserts; a duplicate key means "already stored" (a replay), every other error is retried.
    await Promise.all(
      chunks(docs, RAW_CHUNK).map((chunk) =>
        this.#rawSlots.run(() =>
          this.#retry("Raw reading write", async () => {
            const dup = new Set<number>();
            try {
              await col.insertMany(chunk, { ordered: false });
            } catch (e) {
              if (!onlyDuplicates(e)) throw e;
              for (const we of writeErrors(e)) dup.add(we.index ?? -1);
            }
            chunk.forEach((d, i) => {
              if (!dup.has(i)) inserted.add(d._id);
            });
          }, heartbeat)
        )
      ),
    );
    this.metrics.written.inc(inserted.size, { collection: COLLECTIONS.readings });
    this.#totals.stored += inserted.size;
    return inserted;
  }

  async #writeDeadLetters(rejected: Rejected[], heartbeat: () => Promise<void>): Promise<void> {
    if (rejected.length === 0) return;
    const at = new Date();
    await this.#retry("Dead-letter publish", () =>
      this.#producer!.send({
        topic: this.config.topics.deadLetters,
        acks: -1,
        messages: rejected.map((r) => deadLetterMessage(r, at)),
      }), heartbeat);
    const ops: AnyBulkWriteOperation<DeadLetterDoc>[] = rejected.map((r) => {
      const doc = deadLetterDoc(r, at);
      return { updateOne: { filter: { _id: doc._id }, update: { $setOnInsert: doc }, upsert: true } };
    });
    await this.#retry("Dead-letter write", async () => {
      try {
        await this.#dead!.bulkWrite(ops, { ordered: false });
      } catch (e) {
        if (!onlyDuplicates(e)) throw e;
      }
    }, heartbeat);
    this.metrics.dlq.inc(rejected.length);
    this.#totals.dead_letters += rejected.length;
  }

  /** Makes sure every window the batch touches is in memory with this partition's stored part. */
  async #loadWindows(partition: number, valid: Valid[], heartbeat: () => Promise<void>): Promise<void> {
    const need = new Set<string>();
    for (const v of valid) {
      if (v.late) continue;
      for (const key of assignWindows(v.reading, v.eventTime, this.#sizesMs)) {
        let w = this.#windows.get(key.id);
        if (!w) {
          w = { key, parts: new Map(), foreign: new Map(), loaded: new Set(), dirty: new Set() };
          this.#windows.set(key.id, w);
        }
        if (!w.loaded.has(partition)) need.add(key.id);
      }
    }
    if (need.size === 0) return;
    for (const ids of chunks([...need], 1000)) {
      const docs = await this.#retry(
        "Window load",
        () => this.#win!.find({ _id: { $in: ids } }, { projection: { parts: 1 } }).toArray(),
        heartbeat,
      );
      for (const d of docs) {
        const w = this.#windows.get(d._id);
        if (!w) continue;
        for (const [k, raw] of Object.entries(d.parts ?? {})) {
          const p = Number(k.slice(1));
          const part = loadedPart(raw);
          if (!part) continue;
          if (p === partition) {
            if (!w.parts.has(p)) w.parts.set(p, part);
          } else if (!this.#assigned.has(p)) w.foreign.set(p, part);
        }
      }
      for (const id of ids) this.#windows.get(id)?.loaded.add(partition);
    }
  }

  /** Writes windows and alerts, publishes alert events, then commits processed offsets. */
  async #flush(heartbeat?: () => Promise<void>): Promise<void> {
    const started = performance.now();
    this.#lastFlush = Date.now();
    await this.#timed("write_wait", () => this.#drainWrites());
    const toCommit = new Map(this.#processed);
    if (!this.config.consumeOnly) {
      await this.#timed("window_write", () => this.#flushWindows(heartbeat));
      await this.#timed("alert_write", () => this.#flushAlerts(heartbeat));
    }
    if (this.#aborted) return;
    const offsets = [...toCommit]
      .filter(([p, o]) => this.#assigned.has(p) && this.#committed.get(p) !== o)
      .map(([p, o]) => ({ topic: this.config.topics.readings, partition: p, offset: String(o) }));
    if (offsets.length && this.#assignmentValid) {
      try {
        await this.#timed("commit", () => this.#consumer.commitOffsets(offsets));
        for (const o of offsets) this.#committed.set(o.partition, Number(o.offset));
      } catch (e) {
        this.log.warn("Offset commit failed (will retry with the next flush)", { error: e });
      }
    }
    this.metrics.flushSeconds.observe((performance.now() - started) / 1000);
  }

  async #flushWindows(heartbeat?: () => Promise<void>): Promise<void> {
    const wm = this.#marks.global(Date.now());
    const closing: string[] = [];
    for (const [id, w] of this.#windows) {
      if (w.key.start + w.key.sizeMs <= wm) {
        closing.push(id);
        for (const [p, part] of w.parts) {
          if (!part.final) {
            part.final = true;
            w.dirty.add(p);
          }
        }
      }
    }
    const dirty = [...this.#windows.values()].filter((w) => w.dirty.size > 0);
    if (dirty.length) {
      const now = new Date();
      const col = this.#win!;
      // Sensor windows have one writer (records are keyed by sensor id, so one partition): totals go in
      // the same write. Type/location windows collect parts from several partitions and instances: their
      // totals are recomputed from the stored parts (see the comment block in windows.ts).
      const step1: AnyBulkWriteOperation<StoredWindowDoc>[] = dirty.map((w) => {
        const set: Record<string, unknown> = { ...windowIdentity(w.key) };
        for (const p of w.dirty) set[`parts.${partKey(p)}`] = storablePart(w.parts.get(p)!);
        const totals = windowTotals([...w.parts.values(), ...w.foreign.values()], now);
        const direct = w.key.kind === "sensor";
        const update = direct
          ? { $set: { ...set, ...totals }, $inc: { v: 1 } }
          : { $set: set, $inc: { v: 1 }, $setOnInsert: totals };
        return { updateOne: { filter: { _id: w.key.id }, update: update as never, upsert: true } };
      });
      await parallel(
        chunks(step1, 1000).map((c) => () =>
          this.#retry("Window write", async () => {
            try {
              await col.bulkWrite(c, { ordered: false });
            } catch (e) {
              if (!onlyDuplicates(e)) throw e;
              // A concurrent first insert of the same window by another instance: write again as update.
              await col.bulkWrite(c, { ordered: false });
            }
          }, heartbeat)
        ),
        this.#concurrency,
      );
      const shared = dirty.filter((w) => w.key.kind !== "sensor").map((w) => w.key.id);
      for (const c of chunks(shared, 1000)) {
        await this.#retry("Window totals", () => this.#settleTotals(col, c, now), heartbeat);
      }
      for (const w of dirty) w.dirty.clear();
      this.metrics.written.inc(dirty.length, { collection: COLLECTIONS.windows });
      this.#totals.windows_written += dirty.length;
    }
    for (const id of closing) this.#windows.delete(id);
    this.metrics.openWindows.set(this.#windows.size);
  }

  /**
   * Recomputes the totals of shared windows from their stored parts until each
   * document's `totals_v` equals its version `v` (no part changed since the
   * totals were computed). Filters use `_id` only (fast on every server).
   */
  async #settleTotals(col: Collection<StoredWindowDoc>, ids: string[], now: Date): Promise<void> {
    let pending = ids;
    for (let round = 0; round < 5 && pending.length; round++) {
      const docs = await col.find({ _id: { $in: pending } }, { projection: { parts: 1, v: 1, totals_v: 1 } })
        .toArray() as (StoredWindowDoc & { totals_v?: number })[];
      const stale = docs.filter((d) => d.totals_v !== d.v);
      if (stale.length === 0) return;
      const ops: AnyBulkWriteOperation<StoredWindowDoc>[] = stale.map((d) => ({
        updateOne: {
          filter: { _id: d._id },
          update: {
            $set: {
              ...windowTotals(
                Object.values(d.parts ?? {}).map((p) => loadedPart(p)).filter((p): p is WindowPart => !!p),
                now,
              ),
              totals_v: d.v,
            },
          } as never,
        },
      }));
      await col.bulkWrite(ops, { ordered: false });
      pending = stale.map((d) => d._id);
    }
    if (pending.length) this.log.warn("Window totals still changing after 5 rounds", { windows: pending.length });
  }

  async #flushAlerts(heartbeat?: () => Promise<void>): Promise<void> {
    let batch = this.#alerts.drain();
    if (batch.writes.length === 0 && batch.events.length === 0) return;
    try {
      // One open alert per sensor and rule, also across instances and rebalances (and on servers
      // without partial indexes): a newly opened alert continues one already firing in the database.
      const opened = batch.events.filter((e) => e.event === "new").map((e) => e.alert);
      if (opened.length) {
        const firing = await this.#retry("Open alert check", () =>
          this.#alertsCol!.find({
            state: "firing",
            sensor_id: { $in: [...new Set(opened.map((a) => a.sensor_id))] },
          }).toArray(), heartbeat);
        const conflicts = firing.filter((f) =>
          opened.some((a) => a.sensor_id === f.sensor_id && a.rule === f.rule && a._id !== f._id)
        );
        if (conflicts.length) {
          this.#alerts.restore(batch);
          for (const c of conflicts) this.#alerts.adopt(c);
          batch = this.#alerts.drain();
        }
      }
      await this.#writeAlerts(batch.writes, heartbeat);
      await this.#publishAlerts(batch.events, heartbeat);
    } catch (e) {
      this.#alerts.restore(batch);
      throw e;
    }
    this.metrics.openAlerts.set(this.#alerts.openCount);
  }

  async #writeAlerts(writes: AlertWrite[], heartbeat?: () => Promise<void>): Promise<void> {
    if (writes.length === 0) return;
    const op = (w: AlertWrite): AnyBulkWriteOperation<AlertWrite> => {
      const { _id, ...fields } = processorFields(w);
      const set = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
      return {
        updateOne: {
          filter: { _id },
          update: { $set: set, $setOnInsert: { acknowledged: false } } as never,
          upsert: true,
        },
      };
    };
    await this.#retry("Alert write", async () => {
      try {
        await this.#alertsCol!.bulkWrite(writes.map(op), { ordered: false });
      } catch (e) {
        if (!onlyDuplicates(e)) throw e;
        // Another alert of the same sensor and rule is open in the database: continue that one.
        for (const we of writeErrors(e)) {
          const w = writes[we.index ?? -1];
          if (!w) continue;
          const existing = await this.#alertsCol!.findOne({ sensor_id: w.sensor_id, rule: w.rule, state: "firing" });
          if (existing) this.#alerts.adopt(existing);
        }
        const again = this.#alerts.drain();
        if (again.writes.length) await this.#alertsCol!.bulkWrite(again.writes.map(op), { ordered: false });
      }
    }, heartbeat);
    this.metrics.written.inc(writes.length, { collection: COLLECTIONS.alerts });
  }

  async #publishAlerts(events: AlertEvent[], heartbeat?: () => Promise<void>): Promise<void> {
    if (events.length === 0) return;
    await this.#retry("Alert publish", () =>
      this.#producer!.send({
        topic: this.config.topics.alerts,
        acks: -1,
        messages: events.map((e) => ({
          key: e.alert.sensor_id,
          value: JSON.stringify({ event: e.event, ...e.alert }),
          headers: { event: e.event, rule: e.alert.rule },
        })),
      }), heartbeat);
    for (const e of events) {
      this.metrics.alerts.inc(1, { event: e.event });
      if (e.event === "new") this.#totals.alerts_new++;
      else this.#totals.alerts_resolved++;
    }
  }

  #checkSilence(): void {
    if (this.#stopping) return;
    const now = Date.now();
    for (const s of this.#sensors.values()) {
      if (!this.#assigned.has(s.partition)) continue;
      this.#alerts.evaluate(
        s.subject,
        "silence",
        checkSilence(s.subject.sensor_type, now - s.lastWall, this.config.detectors),
        now,
      );
    }
  }

  async #retention(): Promise<void> {
    if (!this.#raw) return;
    const cutoff = new Date(Date.now() - this.config.rawRetentionDays * 86_400_000);
    const r = await this.#raw.deleteMany({ timestamp: { $lt: cutoff } });
    if (r.deletedCount) this.log.info("Deleted expired raw readings", { deleted: r.deletedCount, before: cutoff });
  }

  async #updateLag(): Promise<void> {
    const offsets = await this.#admin.fetchTopicOffsets(this.config.topics.readings);
    for (const o of offsets) {
      if (!this.#assigned.has(o.partition)) continue;
      const committed = this.#committed.get(o.partition) ?? 0;
      const lag = Math.max(0, Number(o.high) - committed);
      this.#lag[String(o.partition)] = lag;
      this.metrics.lag.set(lag, { partition: o.partition });
    }
  }

  async #heartbeat(): Promise<void> {
    const now = Date.now();
    const samples = this.#e2eSamples.sort((a, b) => a - b);
    if (samples.length) this.#e2eLagMs = samples[Math.floor(samples.length / 2)];
    this.#e2eSamples = [];
    this.metrics.e2eLagMs.set(this.#e2eLagMs);
    this.#rateSamples.push([now, this.#totals.consumed]);
    while (this.#rateSamples.length > 2 && now - this.#rateSamples[1][0] >= RATE_WINDOW_MS) this.#rateSamples.shift();
    const [t0, c0] = this.#rateSamples[0];
    const rate = ((this.#totals.consumed - c0) * 1000) / Math.max(1, now - t0);
    await this.#updateLag().catch(() => {});
    if (!this.#statsCol) return;
    const doc: Omit<PipelineStatsDoc, "_id"> = {
      role: "processor",
      instance: this.config.instance,
      updated_at: new Date(),
      started_at: this.#startedAt,
      rate: Math.round(rate),
      totals: { ...this.#totals, open_windows: this.#windows.size, open_alerts: this.#alerts.openCount },
      lag: { ...this.#lag },
      e2e_lag_ms: this.#e2eLagMs,
    };
    try {
      await this.#statsCol.updateOne({ _id: `processor:${this.config.instance}` }, { $set: doc }, { upsert: true });
      this.#mongoHealthy = true;
    } catch (e) {
      this.#mongoHealthy = false;
      throw e;
    }
  }

  #serveHttp(): void {
    this.#server = Deno.serve({
      hostname: this.config.metricsHost,
      port: this.config.metricsPort,
      onListen: () => {},
    }, (req) => {
      const path = new URL(req.url).pathname;
      if (path === "/metrics") {
        return new Response(this.metrics.registry.render(), { headers: { "content-type": PROMETHEUS_CONTENT_TYPE } });
      }
      if (path === "/healthz") {
        const consuming = this.#assignmentValid && !this.#stopping;
        const mongo = this.config.consumeOnly || this.#mongoHealthy;
        const ok = consuming && mongo;
        return Response.json({
          status: ok ? "ok" : "unavailable",
          consuming,
          mongo,
          partitions: [...this.#assigned],
        }, { status: ok ? 200 : 503 });
      }
      return Response.json({ error: "Not found" }, { status: 404 });
    });
  }

  /** The port /metrics is served on, if any. */
  get metricsPort(): number | undefined {
    const addr = this.#server?.addr as Deno.NetAddr | undefined;
    return addr?.port;
  }

  /** Current counters. */
  stats(): ProcessorStats {
    return {
      instance: this.config.instance,
      consumed: this.#totals.consumed,
      stored: this.#totals.stored,
      invalid: this.#totals.invalid,
      late: this.#totals.late,
      deadLetters: this.#totals.dead_letters,
      windowsWritten: this.#totals.windows_written,
      alertsNew: this.#totals.alerts_new,
      alertsResolved: this.#totals.alerts_resolved,
      mongoRetries: this.#totals.mongo_retries,
      assigned: [...this.#assigned].sort((a, b) => a - b),
      committed: Object.fromEntries([...this.#committed].map(([p, o]) => [String(p), o])),
      lag: { ...this.#lag },
      e2eLagMs: this.#e2eLagMs,
      openWindows: this.#windows.size,
      openAlerts: this.#alerts.openCount,
      stageSeconds: Object.fromEntries(Object.entries(this.#stages).map(([k, v]) => [k, Math.round(v * 1000) / 1000])),
    };
  }

  /** Graceful stop (idempotent). */
  stop(graceMs = 30_000): Promise<void> {
    this.#stopPromise ??= this.#stop(graceMs);
    return this.#stopPromise;
  }

  async #stop(graceMs: number): Promise<void> {
    this.log.info("Stopping: finishing the batch, flushing, committing");
    this.#stopping = true;
    for (const t of this.#timers) clearInterval(t);
    try {
      this.#consumer?.pause([{ topic: this.config.topics.readings }]);
    } catch { /* not running */ }
    const abort = setTimeout(() => {
      this.#aborted = true;
      this.log.error("Stop grace period over: giving up unwritten data (it will be re-read)");
    }, graceMs);
    try {
      await this.#withLock(() => this.#flush()).catch((e) => this.log.warn("Final flush failed", { error: e }));
      await this.#heartbeat().catch(() => {});
    } finally {
      clearTimeout(abort);
    }
    await this.#consumer?.disconnect().catch((e) => this.log.warn("Consumer disconnect failed", { error: e }));
    await this.#producer?.disconnect().catch(() => {});
    await this.#admin?.disconnect().catch(() => {});
    await this.#client?.close().catch(() => {});
    await this.#server?.shutdown().catch(() => {});
    this.log.info("Processor stopped", { ...this.#totals });
  }
}
